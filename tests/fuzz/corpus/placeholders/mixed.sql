SELECT * FROM t WHERE a = ? AND b = '?''' -- ?
 AND c = "?" /* ? */ AND d = ?