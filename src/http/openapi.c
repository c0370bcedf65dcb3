/*
 * openapi.c - the OpenAPI 3.0 document, written from the route table.
 *
 * Paths, methods, permissions, parameters, bodies and responses come from
 * http_routes, so a route cannot exist without being described. The schemas of
 * the bodies are below, as JSON text.
 */
#include <string.h>

#include "config.h"
#include "http/route.h"

static const char schemas[] =
    "{\"Error\":{\"type\":\"object\",\"required\":[\"error\"],\"properties\":{\"error\":{\"type"
    "\":\"object\",\"required\":[\"code\",\"message\",\"field\"],\"properties\":{\"code\":{\"ty"
    "pe\":\"string\"},\"message\":{\"type\":\"string\"},\"field\":{\"type\":\"string\",\"nullab"
    "le\":true},\"line\":{\"type\":\"integer\"},\"column\":{\"type\":\"integer\"},\"request_id\""
    ":{\"type\":\"string\"}}}}},\"Health\":{\"type\":\"object\",\"required\":[\"status\",\"vers"
    "ion\",\"database\",\"time\"],\"properties\":{\"status\":{\"type\":\"string\",\"enum\":[\"o"
    "k\"]},\"version\":{\"type\":\"string\"},\"database\":{\"type\":\"string\",\"enum\":[\"sqli"
    "te\",\"postgresql\"]},\"time\":{\"type\":\"string\",\"format\":\"date-time\"}}},\"OpenAPI\""
    ":{\"type\":\"object\",\"description\":\"An OpenAPI 3.0 document\"},\"Role\":{\"type\":\"st"
    "ring\",\"enum\":[\"admin\",\"supervisor\",\"technician\",\"biomed\",\"clinician\",\"interf"
    "ace\"]},\"User\":{\"type\":\"object\",\"required\":[\"id\",\"username\",\"display_name\",\""
    "role\",\"locked\",\"disabled\",\"created_at\",\"updated_at\"],\"properties\":{\"id\":{\"ty"
    "pe\":\"string\"},\"username\":{\"type\":\"string\"},\"display_name\":{\"type\":\"string\"}"
    ",\"role\":{\"$ref\":\"#/components/schemas/Role\"},\"locked\":{\"type\":\"boolean\"},\"dis"
    "abled\":{\"type\":\"boolean\"},\"created_at\":{\"type\":\"string\",\"format\":\"date-time\""
    "},\"updated_at\":{\"type\":\"string\",\"format\":\"date-time\"}}},\"UserPage\":{\"type\":\""
    "object\",\"required\":[\"items\",\"next\"],\"properties\":{\"items\":{\"type\":\"array\",\""
    "items\":{\"$ref\":\"#/components/schemas/User\"}},\"next\":{\"type\":\"string\",\"nullable"
    "\":true}}},\"UserCreate\":{\"type\":\"object\",\"additionalProperties\":false,\"required\""
    ":[\"username\",\"password\",\"role\"],\"properties\":{\"username\":{\"type\":\"string\",\""
    "pattern\":\"^[a-z0-9._-]{3,64}$\"},\"password\":{\"type\":\"string\",\"minLength\":10},\"r"
    "ole\":{\"$ref\":\"#/components/schemas/Role\"},\"display_name\":{\"type\":\"string\",\"min"
    "Length\":1,\"maxLength\":128}}},\"UserPatch\":{\"type\":\"object\",\"additionalProperties\""
    ":false,\"properties\":{\"display_name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\""
    ":128},\"role\":{\"$ref\":\"#/components/schemas/Role\"},\"disabled\":{\"type\":\"boolean\""
    "}}},\"PasswordSet\":{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"pa"
    "ssword\"],\"properties\":{\"password\":{\"type\":\"string\",\"minLength\":10}}},\"Password"
    "Change\":{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"current_passw"
    "ord\",\"new_password\"],\"properties\":{\"current_password\":{\"type\":\"string\"},\"new_p"
    "assword\":{\"type\":\"string\",\"minLength\":10}}},\"SessionCreate\":{\"type\":\"object\","
    "\"additionalProperties\":false,\"required\":[\"username\",\"password\"],\"properties\":{\""
    "username\":{\"type\":\"string\"},\"password\":{\"type\":\"string\"}}},\"SessionCreated\":{"
    "\"type\":\"object\",\"required\":[\"token\",\"user\",\"idle_timeout_seconds\"],\"propertie"
    "s\":{\"token\":{\"type\":\"string\"},\"user\":{\"$ref\":\"#/components/schemas/User\"},\"i"
    "dle_timeout_seconds\":{\"type\":\"integer\"}}},\"Session\":{\"type\":\"object\",\"required"
    "\":[\"user\",\"permissions\"],\"properties\":{\"user\":{\"$ref\":\"#/components/schemas/Us"
    "er\"},\"permissions\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},\"idle_timeout_"
    "seconds\":{\"type\":\"integer\"}}},\"AuditEvent\":{\"type\":\"object\",\"required\":[\"seq"
    "\",\"id\",\"at\",\"actor\",\"action\",\"entity_type\",\"entity_id\",\"source\",\"outcome\""
    ",\"detail\",\"hash\"],\"properties\":{\"seq\":{\"type\":\"integer\"},\"id\":{\"type\":\"st"
    "ring\"},\"at\":{\"type\":\"string\",\"format\":\"date-time\"},\"actor_id\":{\"type\":\"str"
    "ing\",\"nullable\":true},\"actor\":{\"type\":\"string\"},\"action\":{\"type\":\"string\"},"
    "\"entity_type\":{\"type\":\"string\"},\"entity_id\":{\"type\":\"string\"},\"source\":{\"ty"
    "pe\":\"string\"},\"outcome\":{\"type\":\"string\",\"enum\":[\"ok\",\"failed\",\"denied\"]}"
    ",\"detail\":{\"type\":\"object\"},\"hash\":{\"type\":\"string\"}}},\"AuditPage\":{\"type\""
    ":\"object\",\"required\":[\"items\",\"next\"],\"properties\":{\"items\":{\"type\":\"array\""
    ",\"items\":{\"$ref\":\"#/components/schemas/AuditEvent\"}},\"next\":{\"type\":\"string\",\""
    "nullable\":true}}},\"Identifier\":{\"type\":\"object\",\"additionalProperties\":false,\"re"
    "quired\":[\"system\",\"value\"],\"properties\":{\"system\":{\"type\":\"string\"},\"value\""
    ":{\"type\":\"string\"}}},\"Sex\":{\"type\":\"string\",\"enum\":[\"female\",\"male\",\"othe"
    "r\",\"unknown\"]},\"Patient\":{\"type\":\"object\",\"required\":[\"id\",\"mrn\",\"family\""
    ",\"given\",\"birth_date\",\"sex\",\"identifiers\",\"created_at\",\"updated_at\"],\"propert"
    "ies\":{\"id\":{\"type\":\"string\"},\"mrn\":{\"type\":\"string\"},\"family\":{\"type\":\"s"
    "tring\"},\"given\":{\"type\":\"string\"},\"birth_date\":{\"type\":\"string\",\"format\":\""
    "date\"},\"sex\":{\"$ref\":\"#/components/schemas/Sex\"},\"identifiers\":{\"type\":\"array\""
    ",\"items\":{\"$ref\":\"#/components/schemas/Identifier\"}},\"created_at\":{\"type\":\"stri"
    "ng\",\"format\":\"date-time\"},\"updated_at\":{\"type\":\"string\",\"format\":\"date-time\""
    "}}},\"PatientCreate\":{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\""
    "mrn\",\"family\",\"given\",\"birth_date\",\"sex\"],\"properties\":{\"mrn\":{\"type\":\"str"
    "ing\",\"pattern\":\"^[A-Za-z0-9-]{1,32}$\"},\"family\":{\"type\":\"string\",\"minLength\":"
    "1,\"maxLength\":64},\"given\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":64},\"bir"
    "th_date\":{\"type\":\"string\",\"format\":\"date\"},\"sex\":{\"$ref\":\"#/components/schem"
    "as/Sex\"},\"identifiers\":{\"type\":\"array\",\"maxItems\":10,\"items\":{\"$ref\":\"#/comp"
    "onents/schemas/Identifier\"}},\"confirm_new\":{\"type\":\"boolean\"}}},\"PatientPage\":{\""
    "type\":\"object\",\"required\":[\"items\",\"next\"],\"properties\":{\"items\":{\"type\":\""
    "array\",\"items\":{\"$ref\":\"#/components/schemas/Patient\"}},\"next\":{\"type\":\"string"
    "\",\"nullable\":true}}},\"CatalogRange\":{\"type\":\"object\",\"additionalProperties\":fal"
    "se,\"required\":[\"sex\",\"age_min_days\",\"age_max_days\"],\"properties\":{\"sex\":{\"typ"
    "e\":\"string\",\"enum\":[\"any\",\"female\",\"male\"]},\"age_min_days\":{\"type\":\"intege"
    "r\"},\"age_max_days\":{\"type\":\"integer\"},\"low\":{\"type\":\"number\"},\"high\":{\"typ"
    "e\":\"number\"},\"normal_text\":{\"type\":\"string\"}}},\"CatalogTest\":{\"type\":\"object"
    "\",\"additionalProperties\":false,\"required\":[\"code\",\"name\",\"kind\",\"specimen_type"
    "\",\"container\",\"tat_minutes\"],\"properties\":{\"code\":{\"type\":\"string\",\"pattern\""
    ":\"^[A-Z0-9_-]{1,16}$\"},\"name\":{\"type\":\"string\"},\"loinc\":{\"type\":\"string\"},\""
    "kind\":{\"type\":\"string\",\"enum\":[\"numeric\",\"text\",\"coded\"]},\"specimen_type\":{"
    "\"type\":\"string\"},\"container\":{\"type\":\"string\"},\"unit\":{\"type\":\"string\"},\""
    "decimals\":{\"type\":\"integer\"},\"ranges\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/c"
    "omponents/schemas/CatalogRange\"}},\"critical\":{\"type\":\"object\",\"additionalPropertie"
    "s\":false,\"properties\":{\"low\":{\"type\":\"number\"},\"high\":{\"type\":\"number\"}}},\""
    "delta\":{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"kind\",\"limit"
    "\",\"window_hours\"],\"properties\":{\"kind\":{\"type\":\"string\",\"enum\":[\"absolute\","
    "\"percent\"]},\"limit\":{\"type\":\"number\"},\"window_hours\":{\"type\":\"integer\"}}},\""
    "stability_hours\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{\"ro"
    "om\":{\"type\":\"integer\"},\"refrigerated\":{\"type\":\"integer\"},\"frozen\":{\"type\":\""
    "integer\"}}},\"tat_minutes\":{\"type\":\"object\",\"additionalProperties\":false,\"require"
    "d\":[\"routine\",\"asap\",\"stat\"],\"properties\":{\"routine\":{\"type\":\"integer\"},\"a"
    "sap\":{\"type\":\"integer\"},\"stat\":{\"type\":\"integer\"}}},\"cpt\":{\"type\":\"string\""
    "},\"coded_values\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},\"mappings\":{\"ty"
    "pe\":\"array\",\"items\":{\"type\":\"object\",\"additionalProperties\":false,\"required\":"
    "[\"instrument\",\"code\"],\"properties\":{\"instrument\":{\"type\":\"string\"},\"code\":{\""
    "type\":\"string\"}}}}}},\"CatalogPanel\":{\"type\":\"object\",\"additionalProperties\":fal"
    "se,\"required\":[\"code\",\"name\",\"tests\"],\"properties\":{\"code\":{\"type\":\"string\""
    "},\"name\":{\"type\":\"string\"},\"loinc\":{\"type\":\"string\"},\"cpt\":{\"type\":\"strin"
    "g\"},\"tests\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}},\"Catalog\":{\"type\""
    ":\"object\",\"additionalProperties\":false,\"properties\":{\"tests\":{\"type\":\"array\",\""
    "items\":{\"$ref\":\"#/components/schemas/CatalogTest\"}},\"panels\":{\"type\":\"array\",\""
    "items\":{\"$ref\":\"#/components/schemas/CatalogPanel\"}}}},\"CatalogImported\":{\"type\":"
    "\"object\",\"required\":[\"tests\",\"panels\"],\"properties\":{\"tests\":{\"type\":\"integ"
    "er\"},\"panels\":{\"type\":\"integer\"}}},\"Priority\":{\"type\":\"string\",\"enum\":[\"ro"
    "utine\",\"asap\",\"stat\"]},\"OrderCreate\":{\"type\":\"object\",\"additionalProperties\":"
    "false,\"required\":[\"patient_id\",\"tests\",\"priority\",\"clinician\",\"reasons\"],\"pro"
    "perties\":{\"patient_id\":{\"type\":\"string\"},\"tests\":{\"type\":\"array\",\"minItems\""
    ":1,\"maxItems\":60,\"items\":{\"type\":\"string\"}},\"priority\":{\"$ref\":\"#/components/"
    "schemas/Priority\"},\"clinician\":{\"type\":\"string\",\"maxLength\":128},\"reasons\":{\"t"
    "ype\":\"array\",\"minItems\":1,\"maxItems\":12,\"items\":{\"type\":\"string\",\"pattern\":"
    "\"^[A-Z][0-9][0-9A-Z](\\\\.[0-9A-Z]{1,4})?$\"}},\"instructions\":{\"type\":\"object\",\"ad"
    "ditionalProperties\":false,\"properties\":{\"fasting\":{\"type\":\"boolean\"},\"timed_at\""
    ":{\"type\":\"string\",\"format\":\"date-time\"},\"note\":{\"type\":\"string\",\"maxLength\""
    ":256}}},\"placer\":{\"type\":\"string\",\"maxLength\":64,\"description\":\"the system that"
    " placed the order (an EHR's instrument name)\"},\"placer_id\":{\"type\":\"string\",\"maxLe"
    "ngth\":64,\"description\":\"its order number (HL7 ORC-2)\"}}},\"SpecimenTest\":{\"type\":\""
    "object\",\"required\":[\"id\",\"code\",\"name\",\"panel\",\"status\"],\"properties\":{\"id"
    "\":{\"type\":\"string\"},\"code\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},\"p"
    "anel\":{\"type\":\"string\",\"nullable\":true},\"status\":{\"type\":\"string\",\"enum\":[\""
    "ordered\",\"in-progress\",\"resulted\",\"released\",\"cancelled\"]}}},\"Specimen\":{\"type"
    "\":\"object\",\"required\":[\"id\",\"accession\",\"order_id\",\"patient_id\",\"specimen_ty"
    "pe\",\"container\",\"status\",\"priority\",\"tests\"],\"properties\":{\"id\":{\"type\":\"s"
    "tring\"},\"accession\":{\"type\":\"string\",\"pattern\":\"^[0-9]{12}$\"},\"order_id\":{\"t"
    "ype\":\"string\"},\"patient_id\":{\"type\":\"string\"},\"parent_id\":{\"type\":\"string\","
    "\"nullable\":true},\"specimen_type\":{\"type\":\"string\"},\"container\":{\"type\":\"strin"
    "g\"},\"status\":{\"type\":\"string\"},\"priority\":{\"$ref\":\"#/components/schemas/Priori"
    "ty\"},\"collected_at\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true},\""
    "received_at\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true},\"storage\""
    ":{\"type\":\"string\",\"nullable\":true},\"rejection_reason\":{\"type\":\"string\",\"nulla"
    "ble\":true},\"tests\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/Speci"
    "menTest\"}},\"events\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/Spec"
    "imenEvent\"}},\"recollection\":{\"$ref\":\"#/components/schemas/Specimen\"},\"aliquots\":{"
    "\"type\":\"array\",\"items\":{\"type\":\"string\"}}}},\"Order\":{\"type\":\"object\",\"req"
    "uired\":[\"id\",\"patient_id\",\"priority\",\"clinician\",\"reasons\",\"instructions\",\"s"
    "tatus\",\"ordered_at\",\"ordered_by\",\"specimens\"],\"properties\":{\"id\":{\"type\":\"st"
    "ring\"},\"patient_id\":{\"type\":\"string\"},\"priority\":{\"$ref\":\"#/components/schemas"
    "/Priority\"},\"clinician\":{\"type\":\"string\"},\"reasons\":{\"type\":\"array\",\"items\""
    ":{\"type\":\"string\"}},\"instructions\":{\"type\":\"object\"},\"status\":{\"type\":\"stri"
    "ng\",\"enum\":[\"active\",\"complete\",\"cancelled\"]},\"ordered_at\":{\"type\":\"string\""
    ",\"format\":\"date-time\"},\"ordered_by\":{\"type\":\"string\"},\"specimens\":{\"type\":\""
    "array\",\"items\":{\"$ref\":\"#/components/schemas/Specimen\"}}}},\"Label\":{\"type\":\"st"
    "ring\",\"format\":\"binary\"},\"CustodyEvent\":{\"type\":\"object\",\"additionalProperties"
    "\":false,\"required\":[\"event\"],\"properties\":{\"event\":{\"type\":\"string\",\"enum\":"
    "[\"collected\",\"received\",\"centrifuged\",\"aliquoted\",\"stored\",\"retrieved\",\"sent-"
    "out\",\"disposed\"]},\"at\":{\"type\":\"string\",\"format\":\"date-time\"},\"location\":{\""
    "type\":\"string\",\"maxLength\":64},\"note\":{\"type\":\"string\",\"maxLength\":256},\"sit"
    "e\":{\"type\":\"string\"},\"rack\":{\"type\":\"string\"},\"position\":{\"type\":\"string\""
    "},\"temperature\":{\"type\":\"string\",\"enum\":[\"room\",\"refrigerated\",\"frozen\"]},\""
    "destination\":{\"type\":\"string\"},\"count\":{\"type\":\"integer\",\"minimum\":1,\"maximu"
    "m\":10}}},\"Rejection\":{\"type\":\"object\",\"additionalProperties\":false,\"required\":["
    "\"reason\"],\"properties\":{\"reason\":{\"type\":\"string\",\"enum\":[\"hemolyzed\",\"clot"
    "ted\",\"insufficient-volume\",\"unlabelled\",\"mislabelled\",\"wrong-container\",\"stabili"
    "ty-exceeded\"]},\"note\":{\"type\":\"string\",\"maxLength\":256},\"at\":{\"type\":\"string"
    "\",\"format\":\"date-time\"},\"location\":{\"type\":\"string\"}}},\"SpecimenEvent\":{\"typ"
    "e\":\"object\",\"required\":[\"event\",\"at\",\"by\",\"location\",\"detail\",\"recorded_at"
    "\"],\"properties\":{\"event\":{\"type\":\"string\"},\"at\":{\"type\":\"string\",\"format\""
    ":\"date-time\"},\"by\":{\"type\":\"string\"},\"location\":{\"type\":\"string\"},\"detail\""
    ":{\"type\":\"object\"},\"recorded_at\":{\"type\":\"string\",\"format\":\"date-time\"}}},\""
    "ResultEntry\":{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"results\""
    "],\"properties\":{\"results\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":100,\"items\""
    ":{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"code\",\"value\"],\"p"
    "roperties\":{\"code\":{\"type\":\"string\"},\"value\":{\"oneOf\":[{\"type\":\"string\"},{\""
    "type\":\"number\"}]},\"unit\":{\"type\":\"string\"},\"instrument\":{\"type\":\"string\"},\""
    "instrument_flags\":{\"type\":\"string\"}}}}}},\"Hold\":{\"type\":\"object\",\"required\":["
    "\"code\",\"message\"],\"properties\":{\"code\":{\"type\":\"string\"},\"message\":{\"type\""
    ":\"string\"}}},\"Result\":{\"type\":\"object\",\"required\":[\"id\",\"accession\",\"patien"
    "t_id\",\"code\",\"name\",\"kind\",\"value\",\"status\",\"holds\",\"history\",\"version\"],"
    "\"properties\":{\"id\":{\"type\":\"string\"},\"order_test_id\":{\"type\":\"string\"},\"spe"
    "cimen_id\":{\"type\":\"string\"},\"accession\":{\"type\":\"string\"},\"patient_id\":{\"typ"
    "e\":\"string\"},\"code\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},\"kind\":{\""
    "type\":\"string\",\"enum\":[\"numeric\",\"text\",\"coded\"]},\"loinc\":{\"type\":\"string\""
    ",\"nullable\":true},\"value\":{\"type\":\"string\"},\"value_num\":{\"type\":\"number\",\"n"
    "ullable\":true},\"unit\":{\"type\":\"string\",\"nullable\":true},\"reference\":{\"type\":\""
    "object\",\"properties\":{\"low\":{\"type\":\"number\",\"nullable\":true},\"high\":{\"type\""
    ":\"number\",\"nullable\":true},\"text\":{\"type\":\"string\",\"nullable\":true}}},\"flag\""
    ":{\"type\":\"string\",\"nullable\":true,\"enum\":[\"L\",\"H\",\"LL\",\"HH\",\"A\",null]},\""
    "critical\":{\"type\":\"boolean\"},\"delta_failed\":{\"type\":\"boolean\"},\"delta_previous"
    "\":{\"type\":\"string\",\"nullable\":true},\"instrument\":{\"type\":\"string\",\"nullable\""
    ":true},\"instrument_flags\":{\"type\":\"string\",\"nullable\":true},\"status\":{\"type\":\""
    "string\",\"enum\":[\"review\",\"released\",\"corrected\"]},\"holds\":{\"type\":\"array\",\""
    "items\":{\"$ref\":\"#/components/schemas/Hold\"}},\"resulted_at\":{\"type\":\"string\",\"f"
    "ormat\":\"date-time\"},\"resulted_by\":{\"type\":\"string\"},\"released_at\":{\"type\":\"s"
    "tring\",\"format\":\"date-time\",\"nullable\":true},\"released_by\":{\"type\":\"string\",\""
    "nullable\":true},\"release_mode\":{\"type\":\"string\",\"nullable\":true,\"enum\":[\"auto\""
    ",\"manual\",null]},\"version\":{\"type\":\"integer\"},\"critical_alert\":{\"type\":\"objec"
    "t\",\"nullable\":true,\"properties\":{\"opened_at\":{\"type\":\"string\",\"format\":\"date"
    "-time\",\"nullable\":true},\"closed_at\":{\"type\":\"string\",\"format\":\"date-time\",\"n"
    "ullable\":true},\"notified\":{\"type\":\"string\",\"nullable\":true},\"notified_at\":{\"ty"
    "pe\":\"string\",\"format\":\"date-time\",\"nullable\":true},\"read_back\":{\"type\":\"bool"
    "ean\"},\"closed_by\":{\"type\":\"string\",\"nullable\":true}}},\"history\":{\"type\":\"arr"
    "ay\",\"items\":{\"type\":\"object\",\"required\":[\"version\",\"value\",\"status\",\"repla"
    "ced_at\",\"replaced_by\",\"reason\"],\"properties\":{\"version\":{\"type\":\"integer\"},\""
    "value\":{\"type\":\"string\"},\"flag\":{\"type\":\"string\",\"nullable\":true},\"status\":"
    "{\"type\":\"string\"},\"replaced_at\":{\"type\":\"string\",\"format\":\"date-time\"},\"rep"
    "laced_by\":{\"type\":\"string\"},\"reason\":{\"type\":\"string\"}}}}}},\"ResultList\":{\"t"
    "ype\":\"object\",\"required\":[\"results\"],\"properties\":{\"results\":{\"type\":\"array\""
    ",\"items\":{\"$ref\":\"#/components/schemas/Result\"}}}},\"ResultPage\":{\"type\":\"object"
    "\",\"required\":[\"items\"],\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"$re"
    "f\":\"#/components/schemas/Result\"}}}},\"ResultRelease\":{\"type\":\"object\",\"additiona"
    "lProperties\":false,\"required\":[\"ids\",\"password\"],\"properties\":{\"ids\":{\"type\":"
    "\"array\",\"minItems\":1,\"maxItems\":100,\"items\":{\"type\":\"string\"}},\"password\":{\""
    "type\":\"string\"}}},\"CriticalCall\":{\"type\":\"object\",\"additionalProperties\":false,"
    "\"required\":[\"notified\",\"read_back\"],\"properties\":{\"notified\":{\"type\":\"string\""
    ",\"maxLength\":128},\"read_back\":{\"type\":\"boolean\",\"enum\":[true]},\"at\":{\"type\":"
    "\"string\",\"format\":\"date-time\"}}},\"ResultCorrection\":{\"type\":\"object\",\"additio"
    "nalProperties\":false,\"required\":[\"value\",\"reason\",\"password\"],\"properties\":{\"v"
    "alue\":{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"number\"}]},\"unit\":{\"type\":\"stri"
    "ng\"},\"reason\":{\"type\":\"string\",\"maxLength\":256},\"password\":{\"type\":\"string\""
    "}}},\"Turnaround\":{\"type\":\"object\",\"required\":[\"from\",\"to\",\"priorities\"],\"pr"
    "operties\":{\"from\":{\"type\":\"string\",\"format\":\"date-time\"},\"to\":{\"type\":\"str"
    "ing\",\"format\":\"date-time\"},\"priorities\":{\"type\":\"array\",\"items\":{\"type\":\"o"
    "bject\",\"required\":[\"priority\",\"count\",\"within_target\"],\"properties\":{\"priority"
    "\":{\"type\":\"string\"},\"count\":{\"type\":\"integer\"},\"from_collection_minutes\":{\"t"
    "ype\":\"object\",\"properties\":{\"median\":{\"type\":\"number\"},\"p90\":{\"type\":\"numb"
    "er\"}}},\"from_receipt_minutes\":{\"type\":\"object\",\"properties\":{\"median\":{\"type\""
    ":\"number\"},\"p90\":{\"type\":\"number\"}}},\"receipt_to_result_minutes\":{\"type\":\"obj"
    "ect\",\"properties\":{\"median\":{\"type\":\"number\"},\"p90\":{\"type\":\"number\"}}},\"r"
    "esult_to_release_minutes\":{\"type\":\"object\",\"properties\":{\"median\":{\"type\":\"num"
    "ber\"},\"p90\":{\"type\":\"number\"}}},\"within_target\":{\"type\":\"number\"}}}}}},\"Over"
    "due\":{\"type\":\"object\",\"required\":[\"items\"],\"properties\":{\"items\":{\"type\":\""
    "array\",\"items\":{\"type\":\"object\",\"required\":[\"order_test_id\",\"code\",\"status\""
    ",\"priority\",\"accession\",\"patient_id\",\"due_at\",\"minutes_late\"],\"properties\":{\""
    "order_test_id\":{\"type\":\"string\"},\"code\":{\"type\":\"string\"},\"status\":{\"type\":"
    "\"string\"},\"priority\":{\"type\":\"string\"},\"accession\":{\"type\":\"string\"},\"patie"
    "nt_id\":{\"type\":\"string\"},\"due_at\":{\"type\":\"string\",\"format\":\"date-time\"},\""
    "minutes_late\":{\"type\":\"integer\"}}}}}},\"AuditVerify\":{\"type\":\"object\",\"required"
    "\":[\"ok\",\"events\"],\"properties\":{\"ok\":{\"type\":\"boolean\"},\"events\":{\"type\":"
    "\"integer\"},\"seq\":{\"type\":\"integer\"},\"problem\":{\"type\":\"string\"}}},\"Instrume"
    "nt\":{\"type\":\"object\",\"required\":[\"name\",\"kind\",\"protocol\",\"transport\",\"mat"
    "ch\",\"allowed_peers\",\"send_to\",\"enabled\",\"orders\",\"menu\"],\"properties\":{\"name"
    "\":{\"type\":\"string\",\"maxLength\":64,\"pattern\":\"^[A-Za-z0-9._-]+$\"},\"kind\":{\"ty"
    "pe\":\"string\",\"enum\":[\"analyzer\",\"poc\",\"monitor\",\"ehr\"]},\"protocol\":{\"type\""
    ":\"string\",\"enum\":[\"hl7\",\"astm\"]},\"transport\":{\"type\":\"string\",\"enum\":[\"tc"
    "p\",\"serial\"]},\"match\":{\"type\":\"object\",\"additionalProperties\":false,\"propertie"
    "s\":{\"application\":{\"type\":\"string\"},\"facility\":{\"type\":\"string\"},\"sender\":{"
    "\"type\":\"string\"},\"peer\":{\"type\":\"string\"}}},\"allowed_peers\":{\"type\":\"array\""
    ",\"maxItems\":16,\"items\":{\"type\":\"string\"}},\"serial\":{\"type\":\"object\",\"additi"
    "onalProperties\":false,\"required\":[\"device\"],\"properties\":{\"device\":{\"type\":\"st"
    "ring\"},\"baud\":{\"type\":\"integer\",\"enum\":[1200,2400,4800,9600,19200,38400,57600,115"
    "200]},\"parity\":{\"type\":\"string\",\"enum\":[\"none\",\"even\",\"odd\"]},\"data_bits\":"
    "{\"type\":\"integer\",\"enum\":[7,8]},\"stop_bits\":{\"type\":\"integer\",\"enum\":[1,2]}}"
    "},\"send_to\":{\"type\":\"string\",\"nullable\":true,\"description\":\"HOST:PORT that mess"
    "ages for it are delivered to\"},\"orders\":{\"type\":\"object\",\"additionalProperties\":f"
    "alse,\"required\":[\"mode\"],\"properties\":{\"mode\":{\"type\":\"string\",\"enum\":[\"que"
    "ry\",\"push\"]},\"message\":{\"type\":\"string\",\"enum\":[\"oml\",\"orm\"]}}},\"menu\":{\""
    "type\":\"array\",\"maxItems\":100,\"items\":{\"type\":\"string\"},\"description\":\"catalo"
    "g tests it runs; empty: all\"},\"mappings\":{\"type\":\"object\",\"additionalProperties\":"
    "{\"type\":\"string\"},\"description\":\"instrument test code -> catalog test code\"},\"ena"
    "bled\":{\"type\":\"boolean\"}}},\"InstrumentList\":{\"type\":\"object\",\"required\":[\"it"
    "ems\"],\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/sc"
    "hemas/Instrument\"}}}},\"InstrumentImport\":{\"type\":\"object\",\"additionalProperties\":"
    "false,\"required\":[\"instruments\"],\"properties\":{\"instruments\":{\"type\":\"array\",\""
    "minItems\":1,\"maxItems\":500,\"items\":{\"type\":\"object\",\"required\":[\"name\",\"kind"
    "\",\"protocol\"],\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":64,\"pattern\""
    ":\"^[A-Za-z0-9._-]+$\"},\"kind\":{\"type\":\"string\",\"enum\":[\"analyzer\",\"poc\",\"mon"
    "itor\",\"ehr\"]},\"protocol\":{\"type\":\"string\",\"enum\":[\"hl7\",\"astm\"]},\"transpor"
    "t\":{\"type\":\"string\",\"enum\":[\"tcp\",\"serial\"]},\"match\":{\"type\":\"object\",\"a"
    "dditionalProperties\":false,\"properties\":{\"application\":{\"type\":\"string\"},\"facili"
    "ty\":{\"type\":\"string\"},\"sender\":{\"type\":\"string\"},\"peer\":{\"type\":\"string\"}"
    "}},\"allowed_peers\":{\"type\":\"array\",\"maxItems\":16,\"items\":{\"type\":\"string\"}},"
    "\"serial\":{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"device\"],\""
    "properties\":{\"device\":{\"type\":\"string\"},\"baud\":{\"type\":\"integer\",\"enum\":[12"
    "00,2400,4800,9600,19200,38400,57600,115200]},\"parity\":{\"type\":\"string\",\"enum\":[\"n"
    "one\",\"even\",\"odd\"]},\"data_bits\":{\"type\":\"integer\",\"enum\":[7,8]},\"stop_bits\""
    ":{\"type\":\"integer\",\"enum\":[1,2]}}},\"send_to\":{\"type\":\"string\"},\"orders\":{\"t"
    "ype\":\"object\",\"additionalProperties\":false,\"required\":[\"mode\"],\"properties\":{\""
    "mode\":{\"type\":\"string\",\"enum\":[\"query\",\"push\"]},\"message\":{\"type\":\"string\""
    ",\"enum\":[\"oml\",\"orm\"]}}},\"menu\":{\"type\":\"array\",\"maxItems\":100,\"items\":{\""
    "type\":\"string\"},\"description\":\"catalog tests it runs; empty: all\"},\"mappings\":{\""
    "type\":\"object\",\"additionalProperties\":{\"type\":\"string\"},\"description\":\"instrum"
    "ent test code -> catalog test code\"},\"enabled\":{\"type\":\"boolean\"}},\"additionalProp"
    "erties\":false}}}},\"InstrumentsImported\":{\"type\":\"object\",\"required\":[\"instrument"
    "s\"],\"properties\":{\"instruments\":{\"type\":\"integer\"}}},\"Message\":{\"type\":\"obje"
    "ct\",\"required\":[\"id\",\"direction\",\"protocol\",\"transport\",\"peer\",\"instrument\""
    ",\"sender\",\"control_id\",\"type\",\"status\",\"ack\",\"error\",\"summary\",\"bytes\",\"r"
    "eceived_at\"],\"properties\":{\"id\":{\"type\":\"string\"},\"direction\":{\"type\":\"strin"
    "g\",\"enum\":[\"in\",\"out\"]},\"protocol\":{\"type\":\"string\",\"enum\":[\"hl7\",\"astm\""
    "]},\"transport\":{\"type\":\"string\"},\"peer\":{\"type\":\"string\"},\"instrument\":{\"ty"
    "pe\":\"string\",\"nullable\":true},\"sender\":{\"type\":\"string\"},\"control_id\":{\"type"
    "\":\"string\"},\"type\":{\"type\":\"string\"},\"status\":{\"type\":\"string\",\"enum\":[\""
    "accepted\",\"duplicate\",\"rejected\",\"error\"]},\"ack\":{\"type\":\"string\"},\"error\":"
    "{\"type\":\"string\",\"nullable\":true},\"error_field\":{\"type\":\"string\",\"nullable\":"
    "true},\"summary\":{\"type\":\"object\"},\"bytes\":{\"type\":\"integer\"},\"received_at\":{"
    "\"type\":\"string\",\"format\":\"date-time\"},\"replay_of\":{\"type\":\"string\",\"nullabl"
    "e\":true},\"raw\":{\"type\":\"string\",\"description\":\"the message as received (when it "
    "is UTF-8 text)\"},\"raw_base64\":{\"type\":\"string\",\"description\":\"the message as rec"
    "eived, base64 (when it is not text)\"}}},\"MessagePage\":{\"type\":\"object\",\"required\""
    ":[\"items\",\"next\"],\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\""
    "#/components/schemas/Message\"}},\"next\":{\"type\":\"string\",\"nullable\":true}}},\"Repl"
    "ay\":{\"type\":\"object\",\"required\":[\"replay_of\",\"journal_id\",\"status\",\"error\","
    "\"reply\"],\"properties\":{\"replay_of\":{\"type\":\"string\"},\"journal_id\":{\"type\":\""
    "string\"},\"status\":{\"type\":\"string\",\"enum\":[\"accepted\",\"duplicate\",\"rejected\""
    ",\"error\"]},\"error\":{\"type\":\"string\",\"nullable\":true},\"reply\":{\"type\":\"strin"
    "g\",\"description\":\"the reply that was made: an HL7 ACK or RSP, or the records of an AST"
    "M reply\"}}},\"OutboxList\":{\"type\":\"object\",\"required\":[\"items\"],\"properties\":{"
    "\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"id\",\"destin"
    "ation\",\"result_id\",\"result_version\",\"result_status\",\"status\",\"attempts\"],\"prop"
    "erties\":{\"id\":{\"type\":\"string\"},\"destination\":{\"type\":\"string\"},\"result_id\""
    ":{\"type\":\"string\"},\"result_version\":{\"type\":\"integer\"},\"result_status\":{\"type"
    "\":\"string\",\"enum\":[\"F\",\"C\"]},\"status\":{\"type\":\"string\",\"enum\":[\"pending\""
    ",\"delivered\"]},\"attempts\":{\"type\":\"integer\"},\"next_attempt_at\":{\"type\":\"strin"
    "g\",\"format\":\"date-time\",\"nullable\":true},\"last_error\":{\"type\":\"string\",\"null"
    "able\":true},\"control_id\":{\"type\":\"string\",\"nullable\":true},\"created_at\":{\"type"
    "\":\"string\",\"format\":\"date-time\"},\"delivered_at\":{\"type\":\"string\",\"format\":\""
    "date-time\",\"nullable\":true}}}}}},\"OrderOutboxList\":{\"type\":\"object\",\"required\":"
    "[\"items\"],\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\""
    "required\":[\"id\",\"destination\",\"accession\",\"status\",\"attempts\",\"tests\"],\"prop"
    "erties\":{\"id\":{\"type\":\"string\"},\"destination\":{\"type\":\"string\"},\"accession\""
    ":{\"type\":\"string\"},\"status\":{\"type\":\"string\",\"enum\":[\"pending\",\"delivered\""
    "]},\"attempts\":{\"type\":\"integer\"},\"next_attempt_at\":{\"type\":\"string\",\"format\""
    ":\"date-time\",\"nullable\":true},\"last_error\":{\"type\":\"string\",\"nullable\":true},\""
    "control_id\":{\"type\":\"string\",\"nullable\":true},\"tests\":{\"type\":\"array\",\"nulla"
    "ble\":true,\"items\":{\"type\":\"string\"}},\"created_at\":{\"type\":\"string\",\"format\""
    ":\"date-time\"},\"delivered_at\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\""
    ":true}}}}}},\"QcMaterial\":{\"type\":\"object\",\"required\":[\"id\",\"name\",\"manufactur"
    "er\",\"lot\",\"level\",\"expires\",\"qc_id\",\"targets\"],\"properties\":{\"id\":{\"type\""
    ":\"string\"},\"name\":{\"type\":\"string\"},\"manufacturer\":{\"type\":\"string\"},\"lot\""
    ":{\"type\":\"string\"},\"level\":{\"type\":\"string\"},\"expires\":{\"type\":\"string\",\""
    "format\":\"date\"},\"qc_id\":{\"type\":\"string\",\"nullable\":true},\"targets\":{\"type\""
    ":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"test\",\"instrument\",\"mean\",\""
    "sd\",\"source\",\"runs\",\"provisional\"],\"properties\":{\"test\":{\"type\":\"string\"},\""
    "instrument\":{\"type\":\"string\"},\"mean\":{\"type\":\"number\",\"nullable\":true},\"sd\""
    ":{\"type\":\"number\",\"nullable\":true},\"source\":{\"type\":\"string\",\"enum\":[\"manua"
    "l\",\"established\"]},\"runs\":{\"type\":\"integer\"},\"provisional\":{\"type\":\"boolean\""
    "}}}}}},\"QcMaterialList\":{\"type\":\"object\",\"required\":[\"items\"],\"properties\":{\""
    "items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/QcMaterial\"}}}},\""
    "QcMaterialCreate\":{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"nam"
    "e\",\"manufacturer\",\"lot\",\"level\",\"expires\"],\"properties\":{\"name\":{\"type\":\"s"
    "tring\"},\"manufacturer\":{\"type\":\"string\"},\"lot\":{\"type\":\"string\"},\"level\":{\""
    "type\":\"string\"},\"expires\":{\"type\":\"string\",\"format\":\"date\"},\"qc_id\":{\"type"
    "\":\"string\"},\"targets\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"additional"
    "Properties\":false,\"required\":[\"test\"],\"properties\":{\"test\":{\"type\":\"string\"},"
    "\"instrument\":{\"type\":\"string\"},\"mean\":{\"type\":\"number\"},\"sd\":{\"type\":\"num"
    "ber\",\"exclusiveMinimum\":true,\"minimum\":0}}}}}},\"QcTarget\":{\"type\":\"object\",\"ad"
    "ditionalProperties\":false,\"required\":[\"test\"],\"properties\":{\"test\":{\"type\":\"st"
    "ring\"},\"instrument\":{\"type\":\"string\"},\"mean\":{\"type\":\"number\"},\"sd\":{\"type"
    "\":\"number\",\"exclusiveMinimum\":true,\"minimum\":0}}},\"QcSettings\":{\"type\":\"object"
    "\",\"required\":[\"test\",\"frequency\"],\"properties\":{\"test\":{\"type\":\"string\"},\""
    "instrument\":{\"type\":\"string\"},\"rules\":{\"type\":\"string\",\"example\":\"1-2s,1-3s,"
    "2-2s,R-4s,4-1s,10x\"},\"frequency\":{\"type\":\"string\",\"enum\":[\"run\",\"8h\",\"24h\"]"
    "},\"tea_percent\":{\"type\":\"number\"}},\"additionalProperties\":false},\"QcSettingsList\""
    ":{\"type\":\"object\",\"required\":[\"items\"],\"properties\":{\"items\":{\"type\":\"array"
    "\",\"items\":{\"type\":\"object\",\"required\":[\"test\",\"frequency\"],\"properties\":{\""
    "test\":{\"type\":\"string\"},\"instrument\":{\"type\":\"string\"},\"rules\":{\"type\":\"st"
    "ring\",\"example\":\"1-2s,1-3s,2-2s,R-4s,4-1s,10x\"},\"frequency\":{\"type\":\"string\",\""
    "enum\":[\"run\",\"8h\",\"24h\"]},\"tea_percent\":{\"type\":\"number\",\"nullable\":true}}}"
    "}}},\"QcResultEntry\":{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\""
    "test\",\"value\"],\"properties\":{\"material_id\":{\"type\":\"string\"},\"qc_id\":{\"type\""
    ":\"string\"},\"test\":{\"type\":\"string\"},\"instrument\":{\"type\":\"string\"},\"run\":{"
    "\"type\":\"string\"},\"value\":{\"oneOf\":[{\"type\":\"number\"},{\"type\":\"string\"}]},\""
    "at\":{\"type\":\"string\",\"format\":\"date-time\"}}},\"QcResult\":{\"type\":\"object\",\""
    "required\":[\"id\",\"material_id\",\"level\",\"lot\",\"test\",\"instrument\",\"run\",\"val"
    "ue\",\"mean\",\"sd\",\"z\",\"at\",\"operator\",\"source\",\"status\",\"violations\"],\"pro"
    "perties\":{\"id\":{\"type\":\"string\"},\"material_id\":{\"type\":\"string\"},\"level\":{\""
    "type\":\"string\"},\"lot\":{\"type\":\"string\"},\"test\":{\"type\":\"string\"},\"instrume"
    "nt\":{\"type\":\"string\"},\"run\":{\"type\":\"string\"},\"value\":{\"type\":\"number\"},\""
    "mean\":{\"type\":\"number\",\"nullable\":true},\"sd\":{\"type\":\"number\",\"nullable\":tr"
    "ue},\"z\":{\"type\":\"number\",\"nullable\":true},\"at\":{\"type\":\"string\",\"format\":\""
    "date-time\"},\"operator\":{\"type\":\"string\"},\"source\":{\"type\":\"string\",\"enum\":["
    "\"manual\",\"instrument\"]},\"status\":{\"type\":\"string\",\"enum\":[\"accepted\",\"warni"
    "ng\",\"rejected\",\"provisional\"]},\"violations\":{\"type\":\"array\",\"items\":{\"type\""
    ":\"object\",\"required\":[\"rule\",\"scope\",\"action\",\"results\"],\"properties\":{\"rul"
    "e\":{\"type\":\"string\"},\"scope\":{\"type\":\"string\",\"enum\":[\"within-run\",\"across"
    "-runs\",\"across-levels\"]},\"action\":{\"type\":\"string\",\"enum\":[\"reject\",\"warning"
    "\"]},\"material\":{\"type\":\"string\",\"nullable\":true},\"results\":{\"type\":\"array\","
    "\"items\":{\"type\":\"string\"}}}}}}},\"QcResultList\":{\"type\":\"object\",\"required\":["
    "\"items\"],\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/component"
    "s/schemas/QcResult\"}}}},\"QcLockout\":{\"type\":\"object\",\"required\":[\"id\",\"test\","
    "\"instrument\",\"opened_at\",\"opened_by\",\"reason\",\"open\"],\"properties\":{\"id\":{\""
    "type\":\"string\"},\"test\":{\"type\":\"string\"},\"instrument\":{\"type\":\"string\"},\"o"
    "pened_at\":{\"type\":\"string\",\"format\":\"date-time\"},\"opened_by\":{\"type\":\"string"
    "\"},\"reason\":{\"type\":\"string\"},\"last_good_at\":{\"type\":\"string\",\"format\":\"da"
    "te-time\",\"nullable\":true},\"passing_result\":{\"type\":\"string\",\"nullable\":true},\""
    "corrective_action\":{\"type\":\"string\",\"nullable\":true},\"closed_at\":{\"type\":\"stri"
    "ng\",\"format\":\"date-time\",\"nullable\":true},\"closed_by\":{\"type\":\"string\",\"null"
    "able\":true},\"open\":{\"type\":\"boolean\"},\"patient_results_since_last_good_qc\":{\"typ"
    "e\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},"
    "\"accession\":{\"type\":\"string\"},\"value\":{\"type\":\"string\"},\"status\":{\"type\":\""
    "string\"},\"resulted_at\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true}"
    ",\"released_at\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true}}}},\"rel"
    "eased\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}},\"QcLockoutList\":{\"type\""
    ":\"object\",\"required\":[\"items\"],\"properties\":{\"items\":{\"type\":\"array\",\"items"
    "\":{\"$ref\":\"#/components/schemas/QcLockout\"}}}},\"QcLockoutClose\":{\"type\":\"object\""
    ",\"additionalProperties\":false,\"required\":[\"corrective_action\",\"password\"],\"proper"
    "ties\":{\"corrective_action\":{\"type\":\"string\"},\"password\":{\"type\":\"string\",\"fo"
    "rmat\":\"password\"}}},\"QcStats\":{\"type\":\"object\",\"required\":[\"test\",\"instrumen"
    "t\",\"from\",\"to\",\"materials\"],\"properties\":{\"test\":{\"type\":\"string\"},\"instru"
    "ment\":{\"type\":\"string\"},\"from\":{\"type\":\"string\",\"format\":\"date-time\"},\"to\""
    ":{\"type\":\"string\",\"format\":\"date-time\"},\"materials\":{\"type\":\"array\",\"items\""
    ":{\"type\":\"object\",\"required\":[\"material_id\",\"level\",\"lot\",\"period\",\"cumulat"
    "ive\",\"sigma\"],\"properties\":{\"material_id\":{\"type\":\"string\"},\"level\":{\"type\""
    ":\"string\"},\"lot\":{\"type\":\"string\"},\"target_mean\":{\"type\":\"number\",\"nullable"
    "\":true},\"target_sd\":{\"type\":\"number\",\"nullable\":true},\"period\":{\"type\":\"obje"
    "ct\",\"required\":[\"n\",\"mean\",\"sd\",\"cv_percent\",\"bias_percent\"],\"properties\":{"
    "\"n\":{\"type\":\"integer\"},\"mean\":{\"type\":\"number\",\"nullable\":true},\"sd\":{\"ty"
    "pe\":\"number\",\"nullable\":true},\"cv_percent\":{\"type\":\"number\",\"nullable\":true},"
    "\"bias_percent\":{\"type\":\"number\",\"nullable\":true}}},\"cumulative\":{\"type\":\"obje"
    "ct\",\"required\":[\"n\",\"mean\",\"sd\",\"cv_percent\",\"bias_percent\"],\"properties\":{"
    "\"n\":{\"type\":\"integer\"},\"mean\":{\"type\":\"number\",\"nullable\":true},\"sd\":{\"ty"
    "pe\":\"number\",\"nullable\":true},\"cv_percent\":{\"type\":\"number\",\"nullable\":true},"
    "\"bias_percent\":{\"type\":\"number\",\"nullable\":true}}},\"tea_percent\":{\"type\":\"num"
    "ber\",\"nullable\":true},\"tea_source\":{\"type\":\"string\",\"enum\":[\"site\",\"CLIA\",\""
    "none\"]},\"sigma\":{\"type\":\"number\",\"nullable\":true},\"rules_in_use\":{\"type\":\"st"
    "ring\"},\"rules_suggested\":{\"type\":\"string\",\"nullable\":true},\"controls_suggested\""
    ":{\"type\":\"string\",\"nullable\":true}}}}}},\"QcReportSign\":{\"type\":\"object\",\"addi"
    "tionalProperties\":false,\"required\":[\"month\",\"password\"],\"properties\":{\"month\":{"
    "\"type\":\"string\",\"pattern\":\"^[0-9]{4}-[0-9]{2}$\"},\"instrument\":{\"type\":\"string"
    "\"},\"comment\":{\"type\":\"string\",\"maxLength\":1000},\"password\":{\"type\":\"string\""
    ",\"format\":\"password\"}}},\"QcReview\":{\"type\":\"object\",\"required\":[\"id\",\"month"
    "\",\"instrument\",\"signed_by\",\"signed_at\",\"comment\"],\"properties\":{\"id\":{\"type\""
    ":\"string\"},\"month\":{\"type\":\"string\"},\"instrument\":{\"type\":\"string\"},\"signed"
    "_by\":{\"type\":\"string\"},\"signed_at\":{\"type\":\"string\",\"format\":\"date-time\"},\""
    "comment\":{\"type\":\"string\"}}},\"PtEventCreate\":{\"type\":\"object\",\"additionalPrope"
    "rties\":false,\"required\":[\"provider\",\"event\",\"due_date\",\"samples\"],\"properties\""
    ":{\"provider\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":64,\"example\":\"CAP\"},"
    "\"event\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":64,\"example\":\"2026-A\"},\""
    "due_date\":{\"type\":\"string\",\"format\":\"date\"},\"samples\":{\"type\":\"array\",\"min"
    "Items\":1,\"maxItems\":200,\"items\":{\"type\":\"object\",\"additionalProperties\":false,\""
    "required\":[\"sample\",\"test\"],\"properties\":{\"sample\":{\"type\":\"string\",\"minLeng"
    "th\":1,\"maxLength\":64,\"example\":\"GLU-01\"},\"test\":{\"type\":\"string\",\"minLength\""
    ":1,\"maxLength\":16,\"example\":\"GLU\"},\"instrument\":{\"type\":\"string\",\"minLength\""
    ":1,\"maxLength\":64}}}}}},\"PtEventSummary\":{\"type\":\"object\",\"required\":[\"id\",\"p"
    "rovider\",\"event\",\"due_date\",\"status\",\"created_at\",\"created_by\",\"graded_at\",\""
    "graded_by\",\"closed_at\",\"sample_count\",\"submitted_count\"],\"properties\":{\"id\":{\""
    "type\":\"string\"},\"provider\":{\"type\":\"string\"},\"event\":{\"type\":\"string\"},\"du"
    "e_date\":{\"type\":\"string\",\"format\":\"date\"},\"status\":{\"type\":\"string\",\"enum\""
    ":[\"open\",\"submitted\",\"graded\",\"closed\"]},\"created_at\":{\"type\":\"string\",\"for"
    "mat\":\"date-time\"},\"created_by\":{\"type\":\"string\"},\"graded_at\":{\"type\":\"string"
    "\",\"format\":\"date-time\",\"nullable\":true},\"graded_by\":{\"type\":\"string\",\"nullab"
    "le\":true},\"closed_at\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true},"
    "\"sample_count\":{\"type\":\"integer\"},\"submitted_count\":{\"type\":\"integer\"}}},\"PtE"
    "vent\":{\"allOf\":[{\"$ref\":\"#/components/schemas/PtEventSummary\"},{\"type\":\"object\""
    ",\"required\":[\"samples\",\"scores\"],\"properties\":{\"samples\":{\"type\":\"array\",\"i"
    "tems\":{\"type\":\"object\",\"required\":[\"sample\",\"test\",\"instrument\",\"unit\",\"va"
    "lue\",\"submitted_at\",\"submitted_by\",\"entered_at\",\"target\",\"limit_percent\",\"limi"
    "t_abs\",\"limit\",\"limit_source\",\"difference\",\"acceptable\"],\"properties\":{\"sample"
    "\":{\"type\":\"string\"},\"test\":{\"type\":\"string\"},\"instrument\":{\"type\":\"string\""
    "},\"unit\":{\"type\":\"string\",\"nullable\":true},\"value\":{\"type\":\"number\",\"nullab"
    "le\":true},\"submitted_at\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":tru"
    "e},\"submitted_by\":{\"type\":\"string\",\"nullable\":true},\"entered_at\":{\"type\":\"str"
    "ing\",\"format\":\"date-time\",\"nullable\":true},\"target\":{\"type\":\"number\",\"nullab"
    "le\":true},\"limit_percent\":{\"type\":\"number\",\"nullable\":true},\"limit_abs\":{\"type"
    "\":\"number\",\"nullable\":true},\"limit\":{\"type\":\"number\",\"nullable\":true},\"limit"
    "_source\":{\"type\":\"string\",\"enum\":[\"provider\",\"CLIA\",null],\"nullable\":true},\""
    "difference\":{\"type\":\"number\",\"nullable\":true},\"acceptable\":{\"type\":\"boolean\","
    "\"nullable\":true}}}},\"scores\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"requ"
    "ired\":[\"test\",\"graded\",\"acceptable\",\"score\",\"satisfactory\",\"corrective_action_"
    "required\",\"corrective_action\"],\"properties\":{\"test\":{\"type\":\"string\"},\"graded\""
    ":{\"type\":\"integer\"},\"acceptable\":{\"type\":\"integer\"},\"score\":{\"type\":\"number"
    "\"},\"satisfactory\":{\"type\":\"boolean\"},\"corrective_action_required\":{\"type\":\"boo"
    "lean\"},\"corrective_action\":{\"type\":\"object\",\"nullable\":true,\"required\":[\"text\""
    ",\"signed_by\",\"signed_at\"],\"properties\":{\"text\":{\"type\":\"string\"},\"signed_by\""
    ":{\"type\":\"string\"},\"signed_at\":{\"type\":\"string\",\"format\":\"date-time\"}}}}}}}}"
    "]},\"PtEventList\":{\"type\":\"object\",\"required\":[\"items\"],\"properties\":{\"items\""
    ":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/PtEventSummary\"}}}},\"PtR"
    "esultsSubmit\":{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"results"
    "\"],\"properties\":{\"results\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":200,\"item"
    "s\":{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"sample\",\"value\""
    "],\"properties\":{\"sample\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":64},\"valu"
    "e\":{\"oneOf\":[{\"type\":\"number\"},{\"type\":\"string\"}]}}}},\"sent_at\":{\"type\":\"s"
    "tring\",\"format\":\"date-time\"}}},\"PtGrade\":{\"type\":\"object\",\"additionalPropertie"
    "s\":false,\"required\":[\"targets\"],\"properties\":{\"targets\":{\"type\":\"array\",\"min"
    "Items\":1,\"maxItems\":200,\"items\":{\"type\":\"object\",\"additionalProperties\":false,\""
    "required\":[\"sample\",\"target\"],\"properties\":{\"sample\":{\"type\":\"string\",\"minLe"
    "ngth\":1,\"maxLength\":64},\"target\":{\"type\":\"number\"},\"limit_percent\":{\"type\":\""
    "number\",\"exclusiveMinimum\":true,\"minimum\":0,\"maximum\":100},\"limit_abs\":{\"type\":"
    "\"number\",\"exclusiveMinimum\":true,\"minimum\":0}}}}}},\"PtCorrectiveAction\":{\"type\":"
    "\"object\",\"additionalProperties\":false,\"required\":[\"test\",\"corrective_action\",\"p"
    "assword\"],\"properties\":{\"test\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":16}"
    ",\"corrective_action\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":2000},\"password"
    "\":{\"type\":\"string\",\"format\":\"password\"}}},\"QcPbqcSettingsSet\":{\"type\":\"objec"
    "t\",\"additionalProperties\":false,\"required\":[\"test\",\"method\",\"target\",\"limit\"]"
    ",\"properties\":{\"test\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":16},\"instrum"
    "ent\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":64,\"description\":\"Leave out fo"
    "r the manual bench\"},\"method\":{\"type\":\"string\",\"enum\":[\"bull\",\"ewma\",\"mean\""
    "],\"description\":\"bull: Bull's algorithm (XB); ewma: exponentially weighted moving avera"
    "ge; mean: the mean of each batch\"},\"batch\":{\"type\":\"integer\",\"minimum\":1,\"maximu"
    "m\":500,\"default\":20,\"description\":\"Results a point (bull: 10 to 500)\"},\"lambda\":{"
    "\"type\":\"number\",\"minimum\":0,\"exclusiveMinimum\":true,\"maximum\":1,\"description\":"
    "\"ewma only: the weight of the newest result\"},\"target\":{\"type\":\"number\"},\"limit\""
    ":{\"type\":\"number\",\"minimum\":0,\"exclusiveMinimum\":true,\"description\":\"Half-width"
    " of the band around the target\"},\"limit_kind\":{\"type\":\"string\",\"enum\":[\"percent\""
    ",\"absolute\"],\"default\":\"percent\"},\"truncate_low\":{\"type\":\"number\",\"descriptio"
    "n\":\"Results below are left out\"},\"truncate_high\":{\"type\":\"number\",\"description\""
    ":\"Results above are left out\"},\"enabled\":{\"type\":\"boolean\",\"default\":true}}},\"Q"
    "cPbqcSettings\":{\"type\":\"object\",\"required\":[\"test\",\"instrument\",\"method\",\"ba"
    "tch\",\"lambda\",\"target\",\"limit\",\"limit_kind\",\"low\",\"high\",\"truncate_low\",\"t"
    "runcate_high\",\"enabled\",\"updated_at\",\"updated_by\",\"state\"],\"properties\":{\"test"
    "\":{\"type\":\"string\"},\"instrument\":{\"type\":\"string\"},\"method\":{\"type\":\"strin"
    "g\",\"enum\":[\"bull\",\"ewma\",\"mean\"]},\"batch\":{\"type\":\"integer\"},\"lambda\":{\""
    "type\":\"number\",\"nullable\":true},\"target\":{\"type\":\"number\"},\"limit\":{\"type\":"
    "\"number\"},\"limit_kind\":{\"type\":\"string\",\"enum\":[\"percent\",\"absolute\"]},\"low"
    "\":{\"type\":\"number\"},\"high\":{\"type\":\"number\"},\"truncate_low\":{\"type\":\"numbe"
    "r\",\"nullable\":true},\"truncate_high\":{\"type\":\"number\",\"nullable\":true},\"enabled"
    "\":{\"type\":\"boolean\"},\"updated_at\":{\"type\":\"string\",\"format\":\"date-time\"},\""
    "updated_by\":{\"type\":\"string\"},\"state\":{\"type\":\"object\",\"required\":[\"average\""
    ",\"out_of_limits\",\"pending\",\"seen\",\"left_out\",\"points\",\"started_at\"],\"properti"
    "es\":{\"average\":{\"type\":\"number\"},\"out_of_limits\":{\"type\":\"boolean\"},\"pending"
    "\":{\"type\":\"integer\"},\"seen\":{\"type\":\"integer\"},\"left_out\":{\"type\":\"integer"
    "\"},\"points\":{\"type\":\"integer\"},\"started_at\":{\"type\":\"string\",\"format\":\"dat"
    "e-time\"}}}}},\"QcPbqcSettingsList\":{\"type\":\"object\",\"required\":[\"items\"],\"prope"
    "rties\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/QcPbqcSe"
    "ttings\"}}}},\"QcPbqcSeries\":{\"type\":\"object\",\"required\":[\"test\",\"instrument\",\""
    "settings\",\"points\"],\"properties\":{\"test\":{\"type\":\"string\"},\"instrument\":{\"ty"
    "pe\":\"string\"},\"settings\":{\"type\":\"object\",\"required\":[\"test\",\"instrument\",\""
    "method\",\"batch\",\"lambda\",\"target\",\"limit\",\"limit_kind\",\"low\",\"high\",\"trunc"
    "ate_low\",\"truncate_high\",\"enabled\",\"updated_at\",\"updated_by\",\"state\"],\"propert"
    "ies\":{\"test\":{\"type\":\"string\"},\"instrument\":{\"type\":\"string\"},\"method\":{\"t"
    "ype\":\"string\",\"enum\":[\"bull\",\"ewma\",\"mean\"]},\"batch\":{\"type\":\"integer\"},\""
    "lambda\":{\"type\":\"number\",\"nullable\":true},\"target\":{\"type\":\"number\"},\"limit\""
    ":{\"type\":\"number\"},\"limit_kind\":{\"type\":\"string\",\"enum\":[\"percent\",\"absolut"
    "e\"]},\"low\":{\"type\":\"number\"},\"high\":{\"type\":\"number\"},\"truncate_low\":{\"typ"
    "e\":\"number\",\"nullable\":true},\"truncate_high\":{\"type\":\"number\",\"nullable\":true"
    "},\"enabled\":{\"type\":\"boolean\"},\"updated_at\":{\"type\":\"string\",\"format\":\"date"
    "-time\"},\"updated_by\":{\"type\":\"string\"},\"state\":{\"type\":\"object\",\"required\":"
    "[\"average\",\"out_of_limits\",\"pending\",\"seen\",\"left_out\",\"points\",\"started_at\""
    "],\"properties\":{\"average\":{\"type\":\"number\"},\"out_of_limits\":{\"type\":\"boolean\""
    "},\"pending\":{\"type\":\"integer\"},\"seen\":{\"type\":\"integer\"},\"left_out\":{\"type\""
    ":\"integer\"},\"points\":{\"type\":\"integer\"},\"started_at\":{\"type\":\"string\",\"form"
    "at\":\"date-time\"}}}},\"nullable\":true},\"points\":{\"type\":\"array\",\"items\":{\"type"
    "\":\"object\",\"required\":[\"id\",\"seq\",\"at\",\"method\",\"value\",\"target\",\"low\","
    "\"high\",\"n\",\"out_of_limits\"],\"properties\":{\"id\":{\"type\":\"string\"},\"seq\":{\""
    "type\":\"integer\"},\"at\":{\"type\":\"string\",\"format\":\"date-time\"},\"method\":{\"ty"
    "pe\":\"string\",\"enum\":[\"bull\",\"ewma\",\"mean\"]},\"value\":{\"type\":\"number\"},\"t"
    "arget\":{\"type\":\"number\"},\"low\":{\"type\":\"number\"},\"high\":{\"type\":\"number\"}"
    ",\"n\":{\"type\":\"integer\"},\"out_of_limits\":{\"type\":\"boolean\"}}}}}},\"QcPbqcAlert\""
    ":{\"type\":\"object\",\"required\":[\"id\",\"test\",\"instrument\",\"opened_at\",\"point_i"
    "d\",\"method\",\"value\",\"target\",\"low\",\"high\",\"deviation_percent\",\"open\",\"ackn"
    "owledged_at\",\"acknowledged_by\",\"note\"],\"properties\":{\"id\":{\"type\":\"string\"},\""
    "test\":{\"type\":\"string\"},\"instrument\":{\"type\":\"string\"},\"opened_at\":{\"type\":"
    "\"string\",\"format\":\"date-time\"},\"point_id\":{\"type\":\"string\"},\"method\":{\"type"
    "\":\"string\",\"enum\":[\"bull\",\"ewma\",\"mean\"]},\"value\":{\"type\":\"number\"},\"tar"
    "get\":{\"type\":\"number\"},\"low\":{\"type\":\"number\"},\"high\":{\"type\":\"number\"},\""
    "deviation_percent\":{\"type\":\"number\",\"nullable\":true},\"open\":{\"type\":\"boolean\""
    "},\"acknowledged_at\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true},\"a"
    "cknowledged_by\":{\"type\":\"string\",\"nullable\":true},\"note\":{\"type\":\"string\",\"n"
    "ullable\":true}}},\"QcPbqcAlertList\":{\"type\":\"object\",\"required\":[\"items\"],\"prop"
    "erties\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/QcPbqcA"
    "lert\"}}}},\"QcPbqcAcknowledge\":{\"type\":\"object\",\"additionalProperties\":false,\"req"
    "uired\":[\"note\"],\"properties\":{\"note\":{\"type\":\"string\",\"minLength\":1,\"maxLeng"
    "th\":2000},\"restart\":{\"type\":\"boolean\",\"default\":false,\"description\":\"Start the"
    " average again from the target\"}}},"
    /* equipment (src/equip/) */
    "\"AssetClass\":{\"type\":\"string\",\"enum\":[\"chemistry-analyzer\",\"hematology-analyzer\""
    ",\"immunoassay-analyzer\",\"coagulation-analyzer\",\"urinalysis-analyzer\",\"blood-gas-analy"
    "zer\",\"poct\",\"mri\",\"ct\",\"xray\",\"ultrasound\",\"mammography\",\"ecg\",\"patient-moni"
    "tor\",\"pulse-oximeter\",\"defibrillator\",\"infusion-pump\",\"centrifuge\",\"autoclave\",\""
    "cryostat\",\"microtome\",\"refrigerator\",\"freezer\",\"incubator\",\"biosafety-cabinet\",\""
    "pipette\",\"balance\",\"thermometer\",\"calibration-standard\"]},\"AssetStatus\":{\"type\":"
    "\"string\",\"enum\":[\"in-service\",\"out-of-service\",\"retired\"]},\"RiskClass\":{\"type\""
    ":\"string\",\"enum\":[\"low\",\"medium\",\"high\"]},\"Asset\":{\"type\":\"object\",\"require"
    "d\":[\"id\",\"tag\",\"class\",\"manufacturer\",\"model\",\"serial\",\"location\",\"risk_clas"
    "s\",\"owner\",\"install_date\",\"status\",\"status_reason\",\"status_at\",\"instrument\",\"c"
    "reated_at\",\"created_by\",\"updated_at\"],\"properties\":{\"id\":{\"type\":\"string\"},\"ta"
    "g\":{\"type\":\"string\"},\"class\":{\"$ref\":\"#/components/schemas/AssetClass\"},\"manufac"
    "turer\":{\"type\":\"string\"},\"model\":{\"type\":\"string\"},\"serial\":{\"type\":\"string"
    "\"},\"location\":{\"type\":\"string\"},\"risk_class\":{\"$ref\":\"#/components/schemas/RiskC"
    "lass\"},\"owner\":{\"type\":\"string\"},\"install_date\":{\"type\":\"string\",\"format\":\"d"
    "ate\",\"nullable\":true},\"status\":{\"$ref\":\"#/components/schemas/AssetStatus\"},\"status"
    "_reason\":{\"type\":\"string\",\"nullable\":true},\"status_at\":{\"type\":\"string\",\"forma"
    "t\":\"date-time\"},\"instrument\":{\"type\":\"string\",\"nullable\":true},\"created_at\":{\""
    "type\":\"string\",\"format\":\"date-time\"},\"created_by\":{\"type\":\"string\"},\"updated_a"
    "t\":{\"type\":\"string\",\"format\":\"date-time\"}}},\"AssetCreate\":{\"type\":\"object\",\""
    "additionalProperties\":false,\"required\":[\"tag\",\"class\",\"manufacturer\",\"model\",\"se"
    "rial\",\"location\",\"risk_class\",\"owner\"],\"properties\":{\"tag\":{\"type\":\"string\","
    "\"pattern\":\"^[A-Za-z0-9._-]{1,32}$\"},\"class\":{\"$ref\":\"#/components/schemas/AssetClas"
    "s\"},\"manufacturer\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":128},\"model\":{\"t"
    "ype\":\"string\",\"minLength\":1,\"maxLength\":128},\"serial\":{\"type\":\"string\",\"minLen"
    "gth\":1,\"maxLength\":128},\"location\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":1"
    "28},\"risk_class\":{\"$ref\":\"#/components/schemas/RiskClass\"},\"owner\":{\"type\":\"strin"
    "g\",\"minLength\":1,\"maxLength\":128},\"install_date\":{\"type\":\"string\",\"format\":\"da"
    "te\"},\"instrument\":{\"type\":\"string\",\"description\":\"an instrument of the interface r"
    "egister, linked to no other asset\"},\"status\":{\"$ref\":\"#/components/schemas/AssetStatus"
    "\"},\"status_reason\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":1000,\"description"
    "\":\"needed for out-of-service and retired\"}}},\"AssetUpdate\":{\"type\":\"object\",\"addit"
    "ionalProperties\":false,\"required\":[\"class\",\"manufacturer\",\"model\",\"serial\",\"loca"
    "tion\",\"risk_class\",\"owner\"],\"properties\":{\"class\":{\"$ref\":\"#/components/schemas/"
    "AssetClass\"},\"manufacturer\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":128},\"mod"
    "el\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":128},\"serial\":{\"type\":\"string\""
    ",\"minLength\":1,\"maxLength\":128},\"location\":{\"type\":\"string\",\"minLength\":1,\"maxL"
    "ength\":128},\"risk_class\":{\"$ref\":\"#/components/schemas/RiskClass\"},\"owner\":{\"type"
    "\":\"string\",\"minLength\":1,\"maxLength\":128},\"install_date\":{\"type\":\"string\",\"for"
    "mat\":\"date\"},\"instrument\":{\"type\":\"string\"}}},\"AssetStatusChange\":{\"type\":\"obj"
    "ect\",\"additionalProperties\":false,\"required\":[\"status\"],\"properties\":{\"status\":{"
    "\"$ref\":\"#/components/schemas/AssetStatus\"},\"reason\":{\"type\":\"string\",\"minLength\""
    ":1,\"maxLength\":1000,\"description\":\"needed for out-of-service and retired\"}}},\"AssetPa"
    "ge\":{\"type\":\"object\",\"required\":[\"items\",\"next\"],\"properties\":{\"items\":{\"typ"
    "e\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/Asset\"}},\"next\":{\"type\":\"stri"
    "ng\",\"nullable\":true}}},\"StorageKind\":{\"type\":\"string\",\"enum\":[\"refrigerator\",\""
    "freezer\",\"incubator\",\"room\"]},\"StorageUnit\":{\"type\":\"object\",\"required\":[\"name"
    "\",\"kind\",\"asset\",\"low\",\"high\",\"description\",\"created_at\",\"created_by\"],\"prop"
    "erties\":{\"name\":{\"type\":\"string\"},\"kind\":{\"$ref\":\"#/components/schemas/StorageKi"
    "nd\"},\"asset\":{\"type\":\"string\",\"nullable\":true},\"low\":{\"type\":\"number\"},\"high"
    "\":{\"type\":\"number\"},\"description\":{\"type\":\"string\",\"nullable\":true},\"created_a"
    "t\":{\"type\":\"string\",\"format\":\"date-time\"},\"created_by\":{\"type\":\"string\"}}},\""
    "StorageUnitCreate\":{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"name"
    "\",\"kind\",\"low\",\"high\"],\"properties\":{\"name\":{\"type\":\"string\",\"pattern\":\"^["
    "A-Za-z0-9._-]{1,32}$\"},\"kind\":{\"$ref\":\"#/components/schemas/StorageKind\"},\"asset\":{"
    "\"type\":\"string\",\"description\":\"the tag of the appliance in the asset register\"},\"lo"
    "w\":{\"type\":\"number\",\"description\":\"degrees Celsius, inclusive\"},\"high\":{\"type\":"
    "\"number\",\"description\":\"degrees Celsius, inclusive; above low\"},\"description\":{\"typ"
    "e\":\"string\",\"maxLength\":1000}}},\"StorageUnitList\":{\"type\":\"object\",\"required\":["
    "\"items\"],\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/"
    "schemas/StorageUnit\"}}}},\"ScheduleKind\":{\"type\":\"string\",\"enum\":[\"pm\",\"calibrati"
    "on\",\"electrical-safety\",\"check\"]},\"Schedule\":{\"type\":\"object\",\"required\":[\"id"
    "\",\"asset\",\"class\",\"kind\",\"template\",\"interval_days\",\"grace_days\",\"safety_criti"
    "cal\",\"description\",\"created_at\",\"created_by\"],\"properties\":{\"id\":{\"type\":\"stri"
    "ng\"},\"asset\":{\"type\":\"string\",\"nullable\":true},\"class\":{\"type\":\"string\",\"nul"
    "lable\":true},\"kind\":{\"$ref\":\"#/components/schemas/ScheduleKind\"},\"template\":{\"type"
    "\":\"string\",\"nullable\":true},\"interval_days\":{\"type\":\"integer\"},\"grace_days\":{\""
    "type\":\"integer\"},\"safety_critical\":{\"type\":\"boolean\"},\"description\":{\"type\":\"s"
    "tring\",\"nullable\":true},\"created_at\":{\"type\":\"string\",\"format\":\"date-time\"},\"c"
    "reated_by\":{\"type\":\"string\"}}},\"ScheduleCreate\":{\"type\":\"object\",\"additionalProp"
    "erties\":false,\"required\":[\"kind\",\"interval_days\"],\"properties\":{\"asset\":{\"type\""
    ":\"string\",\"description\":\"an asset tag (or class)\"},\"class\":{\"$ref\":\"#/components/"
    "schemas/AssetClass\"},\"kind\":{\"$ref\":\"#/components/schemas/ScheduleKind\"},\"template\""
    ":{\"type\":\"string\",\"description\":\"checklist code, for check and electrical-safety\"},"
    "\"interval_days\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":3660},\"grace_days\":{\"ty"
    "pe\":\"integer\",\"minimum\":0,\"maximum\":3660,\"default\":0},\"safety_critical\":{\"type\""
    ":\"boolean\",\"description\":\"default: true for calibration and electrical-safety\"},\"desc"
    "ription\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":1000}}},\"ScheduleList\":{\"typ"
    "e\":\"object\",\"required\":[\"items\"],\"properties\":{\"items\":{\"type\":\"array\",\"item"
    "s\":{\"$ref\":\"#/components/schemas/Schedule\"}}}},\"DueItem\":{\"type\":\"object\",\"requi"
    "red\":[\"asset\",\"class\",\"location\",\"instrument\",\"schedule_id\",\"kind\",\"template\""
    ",\"safety_critical\",\"interval_days\",\"grace_days\",\"last_done\",\"last_passed\",\"due_at"
    "\",\"overdue_at\",\"state\"],\"properties\":{\"asset\":{\"type\":\"string\"},\"class\":{\"$r"
    "ef\":\"#/components/schemas/AssetClass\"},\"location\":{\"type\":\"string\"},\"instrument\":"
    "{\"type\":\"string\",\"nullable\":true},\"schedule_id\":{\"type\":\"string\"},\"kind\":{\"$r"
    "ef\":\"#/components/schemas/ScheduleKind\"},\"template\":{\"type\":\"string\",\"nullable\":t"
    "rue},\"safety_critical\":{\"type\":\"boolean\"},\"interval_days\":{\"type\":\"integer\"},\"g"
    "race_days\":{\"type\":\"integer\"},\"last_done\":{\"type\":\"string\",\"format\":\"date-time"
    "\",\"nullable\":true},\"last_passed\":{\"type\":\"boolean\",\"nullable\":true},\"due_at\":{"
    "\"type\":\"string\",\"format\":\"date-time\"},\"overdue_at\":{\"type\":\"string\",\"format\""
    ":\"date-time\"},\"state\":{\"type\":\"string\",\"enum\":[\"due\",\"overdue\"]}}},\"DueList\""
    ":{\"type\":\"object\",\"required\":[\"at\",\"within_days\",\"items\"],\"properties\":{\"at\""
    ":{\"type\":\"string\",\"format\":\"date-time\"},\"within_days\":{\"type\":\"integer\"},\"ite"
    "ms\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/DueItem\"}}}},\"Maintena"
    "nce\":{\"type\":\"object\",\"required\":[\"id\",\"asset\",\"performed_at\",\"performed_by\","
    "\"notes\",\"passed\",\"recorded_at\",\"recorded_by\"],\"properties\":{\"id\":{\"type\":\"str"
    "ing\"},\"asset\":{\"type\":\"string\"},\"performed_at\":{\"type\":\"string\",\"format\":\"da"
    "te-time\"},\"performed_by\":{\"type\":\"string\"},\"notes\":{\"type\":\"string\",\"nullable"
    "\":true},\"passed\":{\"type\":\"boolean\"},\"recorded_at\":{\"type\":\"string\",\"format\":"
    "\"date-time\"},\"recorded_by\":{\"type\":\"string\"}}},\"MaintenanceCreate\":{\"type\":\"obj"
    "ect\",\"additionalProperties\":false,\"required\":[\"passed\"],\"properties\":{\"performed_a"
    "t\":{\"type\":\"string\",\"format\":\"date-time\",\"description\":\"when it was done (defaul"
    "t now; never in the future)\"},\"by\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":128"
    ",\"description\":\"who did it (default the signed-in user)\"},\"notes\":{\"type\":\"string\""
    ",\"minLength\":1,\"maxLength\":1000},\"passed\":{\"type\":\"boolean\"}}},\"MaintenanceList\""
    ":{\"type\":\"object\",\"required\":[\"items\"],\"properties\":{\"items\":{\"type\":\"array\""
    ",\"items\":{\"$ref\":\"#/components/schemas/Maintenance\"}}}},\"CalibrationPoint\":{\"type\""
    ":\"object\",\"required\":[\"name\",\"unit\",\"nominal\",\"tolerance\",\"as_found\",\"as_left"
    "\",\"found_ok\",\"left_ok\"],\"properties\":{\"name\":{\"type\":\"string\"},\"unit\":{\"type"
    "\":\"string\"},\"nominal\":{\"type\":\"number\"},\"tolerance\":{\"type\":\"number\"},\"as_fo"
    "und\":{\"type\":\"number\",\"nullable\":true},\"as_left\":{\"type\":\"number\"},\"found_ok\""
    ":{\"type\":\"boolean\",\"nullable\":true},\"left_ok\":{\"type\":\"boolean\"}}},\"Calibration"
    "PointCreate\":{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"name\",\"u"
    "nit\",\"nominal\",\"tolerance\",\"as_left\"],\"properties\":{\"name\":{\"type\":\"string\","
    "\"minLength\":1,\"maxLength\":64},\"unit\":{\"type\":\"string\",\"minLength\":1,\"maxLength"
    "\":16},\"nominal\":{\"type\":\"number\"},\"tolerance\":{\"type\":\"number\",\"minimum\":0,\""
    "description\":\"absolute, in the unit; above 0\"},\"as_found\":{\"type\":\"number\"},\"as_le"
    "ft\":{\"type\":\"number\"}}},\"ExternalCertificate\":{\"type\":\"object\",\"additionalProper"
    "ties\":false,\"required\":[\"provider\",\"certificate\",\"valid_until\"],\"properties\":{\"p"
    "rovider\":{\"type\":\"string\"},\"certificate\":{\"type\":\"string\"},\"valid_until\":{\"typ"
    "e\":\"string\",\"format\":\"date\"}}},\"CalibrationLink\":{\"type\":\"object\",\"required\":"
    "[\"id\",\"asset\",\"performed_at\",\"passed\",\"standard\",\"external\"],\"properties\":{\"i"
    "d\":{\"type\":\"string\"},\"asset\":{\"type\":\"string\"},\"performed_at\":{\"type\":\"strin"
    "g\",\"format\":\"date-time\"},\"performed_by\":{\"type\":\"string\"},\"passed\":{\"type\":\""
    "boolean\"},\"as_found_passed\":{\"type\":\"boolean\"},\"standard\":{\"type\":\"object\",\"re"
    "quired\":[\"tag\",\"calibration_id\",\"valid_until\"],\"properties\":{\"tag\":{\"type\":\"st"
    "ring\"},\"calibration_id\":{\"type\":\"string\",\"nullable\":true},\"valid_until\":{\"type\""
    ":\"string\",\"format\":\"date\",\"nullable\":true}},\"nullable\":true,\"description\":\"the "
    "reference standard and its calibration that made it valid\"},\"external\":{\"type\":\"object"
    "\",\"required\":[\"provider\",\"certificate\",\"valid_until\"],\"properties\":{\"provider\":"
    "{\"type\":\"string\",\"nullable\":true},\"certificate\":{\"type\":\"string\"},\"valid_until"
    "\":{\"type\":\"string\",\"format\":\"date\",\"nullable\":true}},\"nullable\":true,\"descript"
    "ion\":\"an external calibration certificate\"},\"notes\":{\"type\":\"string\",\"nullable\":t"
    "rue},\"recorded_at\":{\"type\":\"string\",\"format\":\"date-time\"},\"recorded_by\":{\"type"
    "\":\"string\"},\"valid_until\":{\"type\":\"string\",\"format\":\"date\",\"nullable\":true}}}"
    ",\"Calibration\":{\"type\":\"object\",\"required\":[\"id\",\"asset\",\"performed_at\",\"perf"
    "ormed_by\",\"passed\",\"as_found_passed\",\"standard\",\"external\",\"recorded_at\",\"record"
    "ed_by\"],\"properties\":{\"id\":{\"type\":\"string\"},\"asset\":{\"type\":\"string\"},\"perf"
    "ormed_at\":{\"type\":\"string\",\"format\":\"date-time\"},\"performed_by\":{\"type\":\"strin"
    "g\"},\"passed\":{\"type\":\"boolean\"},\"as_found_passed\":{\"type\":\"boolean\"},\"standard"
    "\":{\"type\":\"object\",\"required\":[\"tag\",\"calibration_id\",\"valid_until\"],\"properti"
    "es\":{\"tag\":{\"type\":\"string\"},\"calibration_id\":{\"type\":\"string\",\"nullable\":tru"
    "e},\"valid_until\":{\"type\":\"string\",\"format\":\"date\",\"nullable\":true}},\"nullable\""
    ":true,\"description\":\"the reference standard and its calibration that made it valid\"},\"e"
    "xternal\":{\"type\":\"object\",\"required\":[\"provider\",\"certificate\",\"valid_until\"],"
    "\"properties\":{\"provider\":{\"type\":\"string\",\"nullable\":true},\"certificate\":{\"type"
    "\":\"string\"},\"valid_until\":{\"type\":\"string\",\"format\":\"date\",\"nullable\":true}},"
    "\"nullable\":true,\"description\":\"an external calibration certificate\"},\"notes\":{\"type"
    "\":\"string\",\"nullable\":true},\"recorded_at\":{\"type\":\"string\",\"format\":\"date-time"
    "\"},\"recorded_by\":{\"type\":\"string\"},\"points\":{\"type\":\"array\",\"items\":{\"$ref\""
    ":\"#/components/schemas/CalibrationPoint\"}},\"as_found_out_of_tolerance\":{\"type\":\"array"
    "\",\"items\":{\"type\":\"string\"}},\"look_back\":{\"type\":\"object\",\"nullable\":true,\"r"
    "equired\":[\"from\",\"to\"],\"properties\":{\"from\":{\"type\":\"string\",\"format\":\"date-"
    "time\",\"nullable\":true},\"to\":{\"type\":\"string\",\"format\":\"date-time\"}}},\"traceabi"
    "lity\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/CalibrationLink\"}}}},"
    "\"CalibrationCreate\":{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"as"
    "set\",\"points\"],\"properties\":{\"asset\":{\"type\":\"string\"},\"performed_at\":{\"type\""
    ":\"string\",\"format\":\"date-time\",\"description\":\"when it was done (default now; never "
    "in the future)\"},\"by\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":128,\"descriptio"
    "n\":\"who did it (default the signed-in user)\"},\"notes\":{\"type\":\"string\",\"minLength"
    "\":1,\"maxLength\":1000},\"standard\":{\"type\":\"string\",\"description\":\"the tag of a ca"
    "libration-standard in calibration then\"},\"external\":{\"$ref\":\"#/components/schemas/Exte"
    "rnalCertificate\"},\"points\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas"
    "/CalibrationPointCreate\"},\"minItems\":1,\"maxItems\":100}}},\"CalibrationList\":{\"type\":"
    "\"object\",\"required\":[\"items\"],\"properties\":{\"items\":{\"type\":\"array\",\"items\":"
    "{\"$ref\":\"#/components/schemas/CalibrationLink\"}}}},\"ChecklistField\":{\"type\":\"object"
    "\",\"additionalProperties\":false,\"required\":[\"key\",\"label\",\"type\"],\"properties\":{"
    "\"key\":{\"type\":\"string\",\"pattern\":\"^[a-z0-9_]{1,40}$\"},\"label\":{\"type\":\"string"
    "\"},\"type\":{\"type\":\"string\",\"enum\":[\"boolean\",\"number\",\"text\",\"choice\"]},\"r"
    "equired\":{\"type\":\"boolean\"},\"expected\":{\"type\":\"boolean\"},\"unit\":{\"type\":\"st"
    "ring\"},\"min\":{\"type\":\"number\"},\"max\":{\"type\":\"number\"},\"relative_to\":{\"type"
    "\":\"string\"},\"tolerance_percent\":{\"type\":\"number\"},\"choices\":{\"type\":\"array\","
    "\"items\":{\"type\":\"string\"}},\"pass\":{\"type\":\"array\",\"items\":{\"type\":\"string\""
    "}},\"when\":{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"field\",\"in"
    "\"],\"properties\":{\"field\":{\"type\":\"string\"},\"in\":{\"type\":\"array\",\"items\":{\""
    "type\":\"string\"}}}}}},\"ChecklistTemplate\":{\"type\":\"object\",\"additionalProperties\":"
    "false,\"required\":[\"code\",\"name\",\"kind\",\"fields\"],\"properties\":{\"code\":{\"type"
    "\":\"string\",\"pattern\":\"^[A-Za-z0-9._-]{1,32}$\"},\"name\":{\"type\":\"string\"},\"kind"
    "\":{\"type\":\"string\",\"enum\":[\"check\",\"electrical-safety\"]},\"fields\":{\"type\":\"a"
    "rray\",\"items\":{\"$ref\":\"#/components/schemas/ChecklistField\"},\"minItems\":1,\"maxItem"
    "s\":100}}},\"Checklist\":{\"type\":\"object\",\"required\":[\"code\",\"version\",\"name\",\""
    "kind\",\"fields\",\"created_at\",\"created_by\"],\"properties\":{\"code\":{\"type\":\"string"
    "\"},\"version\":{\"type\":\"integer\"},\"name\":{\"type\":\"string\"},\"kind\":{\"type\":\"s"
    "tring\",\"enum\":[\"check\",\"electrical-safety\"]},\"fields\":{\"type\":\"array\",\"items\""
    ":{\"$ref\":\"#/components/schemas/ChecklistField\"}},\"created_at\":{\"type\":\"string\",\"f"
    "ormat\":\"date-time\"},\"created_by\":{\"type\":\"string\"},\"created\":{\"type\":\"boolean"
    "\",\"description\":\"a new version was made\"}}},\"ChecklistList\":{\"type\":\"object\",\"re"
    "quired\":[\"items\"],\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/c"
    "omponents/schemas/Checklist\"}}}},\"CheckFailure\":{\"type\":\"object\",\"required\":[\"key"
    "\",\"label\",\"value\",\"expected\"],\"properties\":{\"key\":{\"type\":\"string\"},\"label\""
    ":{\"type\":\"string\"},\"value\":{},\"expected\":{\"type\":\"string\"}}},\"Check\":{\"type\""
    ":\"object\",\"required\":[\"id\",\"asset\",\"template\",\"version\",\"template_name\",\"kind"
    "\",\"performed_at\",\"performed_by\",\"values\",\"passed\",\"failed\",\"notes\",\"recorded_a"
    "t\",\"recorded_by\"],\"properties\":{\"id\":{\"type\":\"string\"},\"asset\":{\"type\":\"stri"
    "ng\"},\"template\":{\"type\":\"string\"},\"version\":{\"type\":\"integer\"},\"template_name"
    "\":{\"type\":\"string\"},\"kind\":{\"type\":\"string\",\"enum\":[\"check\",\"electrical-safe"
    "ty\"]},\"performed_at\":{\"type\":\"string\",\"format\":\"date-time\"},\"performed_by\":{\"t"
    "ype\":\"string\"},\"values\":{\"type\":\"object\"},\"passed\":{\"type\":\"boolean\"},\"faile"
    "d\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/CheckFailure\"}},\"notes"
    "\":{\"type\":\"string\",\"nullable\":true},\"recorded_at\":{\"type\":\"string\",\"format\":"
    "\"date-time\"},\"recorded_by\":{\"type\":\"string\"}}},\"CheckCreate\":{\"type\":\"object\","
    "\"additionalProperties\":false,\"required\":[\"asset\",\"template\",\"values\"],\"properties"
    "\":{\"asset\":{\"type\":\"string\"},\"template\":{\"type\":\"string\"},\"performed_at\":{\"t"
    "ype\":\"string\",\"format\":\"date-time\",\"description\":\"when it was done (default now; n"
    "ever in the future)\"},\"by\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":128,\"descr"
    "iption\":\"who did it (default the signed-in user)\"},\"values\":{\"type\":\"object\",\"desc"
    "ription\":\"by field key\"},\"notes\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":100"
    "0}}},\"CheckList\":{\"type\":\"object\",\"required\":[\"items\"],\"properties\":{\"items\":{"
    "\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/Check\"}}}},\"FitnessSchedule"
    "\":{\"type\":\"object\",\"required\":[\"schedule_id\",\"kind\",\"template\",\"safety_critica"
    "l\",\"state\",\"due_at\",\"overdue_at\",\"last_done\",\"last_passed\"],\"properties\":{\"sch"
    "edule_id\":{\"type\":\"string\"},\"kind\":{\"$ref\":\"#/components/schemas/ScheduleKind\"},"
    "\"template\":{\"type\":\"string\",\"nullable\":true},\"safety_critical\":{\"type\":\"boolean"
    "\"},\"state\":{\"type\":\"string\",\"enum\":[\"ok\",\"due\",\"overdue\"]},\"due_at\":{\"type"
    "\":\"string\",\"format\":\"date-time\"},\"overdue_at\":{\"type\":\"string\",\"format\":\"dat"
    "e-time\"},\"last_done\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true},\"l"
    "ast_passed\":{\"type\":\"boolean\",\"nullable\":true}}},\"Fitness\":{\"type\":\"object\",\"r"
    "equired\":[\"asset\",\"instrument\",\"at\",\"fit\",\"reasons\",\"schedules\"],\"properties\""
    ":{\"asset\":{\"type\":\"string\"},\"instrument\":{\"type\":\"string\",\"nullable\":true},\"a"
    "t\":{\"type\":\"string\",\"format\":\"date-time\"},\"fit\":{\"type\":\"boolean\"},\"reasons"
    "\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},\"schedules\":{\"type\":\"array\",\""
    "items\":{\"$ref\":\"#/components/schemas/FitnessSchedule\"}}}}"
    ",\"QcCheckCreate\":{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"dev"
    "ice\",\"code\",\"name\",\"unit\",\"target\",\"tolerance\",\"frequency\"],\"properties\":{\""
    "device\":{\"type\":\"string\",\"description\":\"the asset tag\",\"example\":\"RAD-CT-01\"}"
    ",\"code\":{\"type\":\"string\",\"example\":\"CT-WATER-HU\"},\"name\":{\"type\":\"string\"}"
    ",\"unit\":{\"type\":\"string\",\"example\":\"[hnsf'U]\"},\"target\":{\"type\":\"number\",\""
    "example\":0},\"tolerance\":{\"type\":\"number\",\"minimum\":0,\"exclusiveMinimum\":true,\""
    "example\":5},\"frequency\":{\"type\":\"string\",\"enum\":[\"8h\",\"24h\",\"7d\"]}}},\"QcCh"
    "eckUpdate\":{\"type\":\"object\",\"additionalProperties\":false,\"minProperties\":1,\"prop"
    "erties\":{\"name\":{\"type\":\"string\"},\"target\":{\"type\":\"number\"},\"tolerance\":{\""
    "type\":\"number\",\"minimum\":0,\"exclusiveMinimum\":true},\"frequency\":{\"type\":\"strin"
    "g\",\"enum\":[\"8h\",\"24h\",\"7d\"]},\"active\":{\"type\":\"boolean\"}}},\"QcCheck\":{\"t"
    "ype\":\"object\",\"required\":[\"id\",\"device\",\"code\",\"name\",\"unit\",\"target\",\"t"
    "olerance\",\"frequency\",\"active\",\"device_class\",\"instrument\",\"last_passed_at\",\"d"
    "ue_at\",\"overdue\",\"lockout\"],\"properties\":{\"id\":{\"type\":\"string\"},\"device\":{"
    "\"type\":\"string\"},\"code\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},\"unit\""
    ":{\"type\":\"string\"},\"target\":{\"type\":\"number\"},\"tolerance\":{\"type\":\"number\""
    "},\"frequency\":{\"type\":\"string\",\"enum\":[\"8h\",\"24h\",\"7d\"]},\"active\":{\"type\""
    ":\"boolean\"},\"device_class\":{\"type\":\"string\"},\"instrument\":{\"type\":\"string\",\""
    "nullable\":true},\"last_passed_at\":{\"type\":\"string\",\"format\":\"date-time\",\"nullab"
    "le\":true},\"due_at\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true},\"o"
    "verdue\":{\"type\":\"boolean\"},\"lockout\":{\"type\":\"object\",\"nullable\":true,\"requi"
    "red\":[\"id\",\"reason\"],\"properties\":{\"id\":{\"type\":\"string\"},\"reason\":{\"type\""
    ":\"string\"}}}}},\"QcCheckList\":{\"type\":\"object\",\"required\":[\"items\"],\"propertie"
    "s\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/QcCheck\"}}}"
    "},\"QcCheckResultEntry\":{\"type\":\"object\",\"additionalProperties\":false,\"required\":"
    "[\"value\"],\"properties\":{\"value\":{\"oneOf\":[{\"type\":\"number\"},{\"type\":\"string"
    "\"}]},\"at\":{\"type\":\"string\",\"format\":\"date-time\"},\"note\":{\"type\":\"string\"}"
    "}},\"QcCheckResult\":{\"type\":\"object\",\"required\":[\"id\",\"check_id\",\"value\",\"ta"
    "rget\",\"tolerance\",\"deviation\",\"passed\",\"at\",\"operator\",\"note\"],\"properties\""
    ":{\"id\":{\"type\":\"string\"},\"check_id\":{\"type\":\"string\"},\"value\":{\"type\":\"nu"
    "mber\"},\"target\":{\"type\":\"number\"},\"tolerance\":{\"type\":\"number\"},\"deviation\""
    ":{\"type\":\"number\"},\"passed\":{\"type\":\"boolean\"},\"at\":{\"type\":\"string\",\"for"
    "mat\":\"date-time\"},\"operator\":{\"type\":\"string\"},\"note\":{\"type\":\"string\",\"nu"
    "llable\":true},\"lockout\":{\"type\":\"string\",\"nullable\":true,\"description\":\"the de"
    "vice's open lockout, on entry\"}}},\"QcCheckResultList\":{\"type\":\"object\",\"required\""
    ":[\"items\"],\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/compone"
    "nts/schemas/QcCheckResult\"}}}},\"QcCheckLockout\":{\"type\":\"object\",\"required\":[\"id"
    "\",\"check_id\",\"device\",\"code\",\"opened_at\",\"opened_by\",\"reason\",\"open\"],\"pro"
    "perties\":{\"id\":{\"type\":\"string\"},\"check_id\":{\"type\":\"string\"},\"device\":{\"t"
    "ype\":\"string\"},\"code\":{\"type\":\"string\"},\"opened_at\":{\"type\":\"string\",\"form"
    "at\":\"date-time\"},\"opened_by\":{\"type\":\"string\"},\"reason\":{\"type\":\"string\"},\""
    "passing_result\":{\"type\":\"string\",\"nullable\":true},\"corrective_action\":{\"type\":\""
    "string\",\"nullable\":true},\"closed_at\":{\"type\":\"string\",\"format\":\"date-time\",\""
    "nullable\":true},\"closed_by\":{\"type\":\"string\",\"nullable\":true},\"open\":{\"type\":"
    "\"boolean\"},\"released\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}},\"QcCheck"
    "LockoutList\":{\"type\":\"object\",\"required\":[\"items\"],\"properties\":{\"items\":{\"t"
    "ype\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/QcCheckLockout\"}}}}"
    "}";

/* Descriptions of query parameters, by name. */
static const struct {
    const char *name, *type, *format, *description;
} query_params[] = {
    {"limit", "integer", NULL, "Most items in the page"},
    {"cursor", "string", NULL, "The 'next' value of the previous page"},
    {"actor", "string", NULL, "Username of who acted"},
    {"action", "string", NULL, "Action, e.g. session.fail"},
    {"entity_type", "string", NULL, "Type of the record acted on"},
    {"entity_id", "string", NULL, "Id of the record acted on"},
    {"outcome", "string", NULL, "ok, failed or denied"},
    {"from", "string", "date-time", "Events at or after this time (ISO 8601)"},
    {"to", "string", "date-time", "Events at or before this time (ISO 8601)"},
    {"mrn", "string", NULL, "Medical record number (exact)"},
    {"name", "string", NULL, "Family name, or 'family, given' (prefix, any case)"},
    {"birth_date", "string", "date", "Birth date YYYY-MM-DD"},
    {"format", "string", NULL,
     "The output format (labels: zpl or pdf; charges: csv or hl7; charts: svg, png or pdf)"},
    {"instrument", "string", NULL, "Instrument name"},
    {"status", "string", NULL,
     "Status (messages: accepted, duplicate, rejected, error; outbox: "
     "pending, delivered; proficiency-testing events: open, submitted, graded, closed; assets: "
     "in-service, out-of-service, retired)"},
    {"type", "string", NULL, "Message type, e.g. ORU^R01 or astm:results"},
    {"control_id", "string", NULL, "Message control id (HL7 MSH-10, ASTM H.3)"},
    {"peer", "string", NULL, "Peer address:port or device path"},
    {"test", "string", NULL, "Catalog test code"},
    {"month", "string", NULL, "A month, YYYY-MM"},
    {"open", "boolean", NULL,
     "true: only those still open (lockouts not closed, alerts not acknowledged)"},
    {"class", "string", NULL, "Asset class, e.g. chemistry-analyzer"},
    {"location", "string", NULL, "Where the asset stands (exact)"},
    {"asset", "string", NULL, "Asset tag"},
    {"within", "integer", NULL, "Days ahead (0 to 366; default 7)"},
    {"version", "integer", NULL, "Template version (default: the latest)"},
};

static json_t *error_response(const char *description)
{
    return json_pack("{s:s,s:{s:{s:{s:s}}}}", "description", description, "content",
                     "application/json", "schema", "$ref", "#/components/schemas/Error");
}

static json_t *parameters(const http_route *rt)
{
    json_t *params = json_array();
    const char *p = rt->pattern;
    while ((p = strchr(p, '{'))) {
        const char *e = strchr(p, '}');
        if (!e)
            break;
        json_array_append_new(params, json_pack("{s:s%,s:s,s:b,s:{s:s}}", "name", p + 1,
                                                (size_t)(e - p - 1), "in", "path", "required", 1,
                                                "schema", "type", "string"));
        p = e + 1;
    }
    for (const char *q = rt->query; q && *q;) {
        const char *e = strchr(q, ' ');
        size_t n = e ? (size_t)(e - q) : strlen(q);
        for (size_t i = 0; i < sizeof(query_params) / sizeof(query_params[0]); i++) {
            if (strlen(query_params[i].name) != n || strncmp(query_params[i].name, q, n))
                continue;
            json_t *schema = json_pack("{s:s}", "type", query_params[i].type);
            if (query_params[i].format)
                json_object_set_new(schema, "format", json_string(query_params[i].format));
            json_array_append_new(params,
                                  json_pack("{s:s,s:s,s:b,s:s,s:o}", "name", query_params[i].name,
                                            "in", "query", "required", 0, "description",
                                            query_params[i].description, "schema", schema));
        }
        q += n;
        while (*q == ' ')
            q++;
    }
    return params;
}

static json_t *operation(const http_route *rt)
{
    char code[8], opid[128];
    json_t *responses = json_object();
    json_t *op = json_pack("{s:[s],s:s,s:s}", "tags", rt->tag, "summary", rt->summary,
                           "x-permission", perm_name(rt->perm));
    size_t n = 0;
    /* operationId: method and path, as an identifier. */
    n += (size_t)snprintf(opid, sizeof(opid), "%s", rt->method);
    for (const char *p = rt->pattern + strlen("/api/v1"); *p && n + 1 < sizeof(opid); p++)
        opid[n++] = (*p == '/' || *p == '{' || *p == '}' || *p == '.' || *p == '-') ? '_' : *p;
    opid[n] = '\0';
    json_object_set_new(op, "operationId", json_string(opid));

    json_t *params = parameters(rt);
    if (json_array_size(params))
        json_object_set_new(op, "parameters", params);
    else
        json_decref(params);
    if (rt->request)
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b,s:{s:{s:{s:s+}}}}", "required", 1, "content",
                                      "application/json", "schema", "$ref", "#/components/schemas/",
                                      rt->request));
    snprintf(code, sizeof(code), "%d", rt->ok_status ? rt->ok_status : 200);
    if (rt->response && !strcmp(rt->response, "Label"))
        json_object_set_new(responses, code,
                            json_pack("{s:s,s:{s:{s:{s:s,s:s}},s:{s:{s:s,s:s}}}}", "description",
                                      "The label: ZPL II text, or a PDF", "content", "text/plain",
                                      "schema", "type", "string", "format", "binary",
                                      "application/pdf", "schema", "type", "string", "format",
                                      "binary"));
    else if (rt->response && !strcmp(rt->response, "Csv"))
        json_object_set_new(responses, code,
                            json_pack("{s:s,s:{s:{s:{s:s}},s:{s:{s:s}}}}", "description",
                                      "CSV (RFC 4180) with a header line, or HL7 v2 messages",
                                      "content", "text/csv", "schema", "type", "string",
                                      "text/plain", "schema", "type", "string"));
    else if (rt->response && !strcmp(rt->response, "Chart"))
        json_object_set_new(responses, code,
                            json_pack("{s:s,s:{s:{s:{s:s,s:s}},s:{s:{s:s,s:s}},s:{s:{s:s,s:s}}}}",
                                      "description", "The chart as SVG, PNG or PDF", "content",
                                      "image/svg+xml", "schema", "type", "string", "format",
                                      "binary", "image/png", "schema", "type", "string", "format",
                                      "binary", "application/pdf", "schema", "type", "string",
                                      "format", "binary"));
    else if (rt->response && !strcmp(rt->response, "Pdf"))
        json_object_set_new(responses, code,
                            json_pack("{s:s,s:{s:{s:{s:s,s:s}}}}", "description", "A PDF document",
                                      "content", "application/pdf", "schema", "type", "string",
                                      "format", "binary"));
    else if (rt->response)
        json_object_set_new(responses, code,
                            json_pack("{s:s,s:{s:{s:{s:s+}}}}", "description", "Success", "content",
                                      "application/json", "schema", "$ref", "#/components/schemas/",
                                      rt->response));
    else
        json_object_set_new(responses, code, json_pack("{s:s}", "description", "Success"));
    json_object_set_new(responses, "400", error_response("Bad request: the field is named"));
    if (rt->request) {
        json_object_set_new(responses, "413", error_response("Body too large"));
        json_object_set_new(responses, "415", error_response("Body is not application/json"));
    }
    if (rt->perm != PERM_PUBLIC) {
        json_object_set_new(responses, "401", error_response("Sign-in required or expired"));
        json_object_set_new(responses, "403", error_response("Permission denied"));
        json_object_set_new(op, "security", json_pack("[{s:[]},{s:[]}]", "bearer", "cookie"));
    } else {
        json_object_set_new(op, "security", json_array());
        if (!strcmp(rt->pattern, "/api/v1/session")) {
            json_object_set_new(responses, "401", error_response("Wrong username or password"));
            json_object_set_new(responses, "403", error_response("Account locked or disabled"));
        }
    }
    if (strchr(rt->pattern, '{'))
        json_object_set_new(responses, "404", error_response("No such record"));
    if ((!strcmp(rt->method, "POST") && rt->ok_status == 201) || (rt->flags & ROUTE_CONFLICT))
        json_object_set_new(responses, "409", error_response("Conflicts with a record"));
    json_object_set_new(responses, "503", error_response("Database busy or unavailable"));
    json_object_set_new(op, "responses", responses);
    return op;
}

json_t *http_openapi(void)
{
    json_error_t je;
    json_t *comp = json_loads(schemas, 0, &je);
    json_t *paths = json_object();
    json_t *doc = NULL;
    if (!comp || !paths)
        goto fail;
    for (size_t i = 0; i < http_routes_len; i++) {
        const http_route *rt = &http_routes[i];
        char method[16];
        size_t k;
        for (k = 0; rt->method[k] && k + 1 < sizeof(method); k++)
            method[k] = (char)(rt->method[k] - 'A' + 'a');
        method[k] = '\0';
        json_t *item = json_object_get(paths, rt->pattern);
        if (!item) {
            item = json_object();
            json_object_set_new(paths, rt->pattern, item);
        }
        json_object_set_new(item, method, operation(rt));
    }
    doc = json_pack(
        "{s:s,s:{s:s,s:s,s:s},s:o,s:{s:o,s:{s:{s:s,s:s},s:{s:s,s:s,s:s}}}}", "openapi", "3.0.3",
        "info", "title", "benchside API", "version", BENCHSIDE_VERSION, "description",
        "REST API of benchside, the laboratory and technician information system. Errors are "
        "{\"error\":{\"code\",\"message\",\"field\"}} with the HTTP status of the code.",
        "paths", paths, "components", "schemas", comp, "securitySchemes", "bearer", "type", "http",
        "scheme", "bearer", "cookie", "type", "apiKey", "in", "cookie", "name", "bs_session");
    return doc;
fail:
    json_decref(comp);
    json_decref(paths);
    return NULL;
}
