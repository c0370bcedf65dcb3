// pages.js - the workbench's pages, in the order of the navigation. A page is
// one module: {id, title, perm, mount(root, ctx), onEvent?(kind, data),
// unmount?()}; it appears for the roles holding perm. A new area (equipment,
// supplies, people) adds its module here.

import audit from './pages/audit.js';
import equipment from './pages/equipment.js';
import interfaces from './pages/interfaces.js';
import people from './pages/people.js';
import qc from './pages/qc.js';
import receive from './pages/receive.js';
import review from './pages/review.js';
import specimen from './pages/specimen.js';
import supplies from './pages/supplies.js';
import worklist from './pages/worklist.js';

export const pages = [worklist, receive, specimen, review, qc, interfaces, audit,
  equipment, supplies, people];
