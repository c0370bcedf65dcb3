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
    "\"LiveEvent\":{\"type\":\"object\",\"description\":\"The data of a live event (GET /api/"
    "v1/events): its time and the ids a page needs to fetch what changed, never values or nam"
    "es\",\"required\":[\"at\"],\"properties\":{\"at\":{\"type\":\"string\",\"format\":\"date"
    "-time\"},\"result_id\":{\"type\":\"string\"},\"accession\":{\"type\":\"string\"},\"test"
    "\":{\"type\":\"string\"},\"flag\":{\"type\":\"string\",\"nullable\":true},\"critical\":{"
    "\"type\":\"boolean\"},\"instrument\":{\"type\":\"string\",\"nullable\":true},\"priority"
    "\":{\"type\":\"string\"},\"mode\":{\"type\":\"string\",\"enum\":[\"auto\",\"manual\"]},"
    "\"event\":{\"type\":\"string\"},\"qc_result_id\":{\"type\":\"string\"},\"lockout_id\":{"
    "\"type\":\"string\"},\"reason\":{\"type\":\"string\"},\"violations\":{\"type\":\"array\""
    ",\"items\":{\"type\":\"object\"}}}}"
    ","
    "\"Worklist\":{\"type\":\"object\",\"required\":[\"stage\",\"now\",\"counts\",\"items\"],"
    "\"properties\":{\"stage\":{\"type\":\"string\",\"enum\":[\"to-collect\",\"to-receive\","
    "\"in-progress\",\"to-review\",\"released\"]},\"now\":{\"type\":\"string\",\"format\":\"d"
    "ate-time\"},\"counts\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"integer"
    "\"}},\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"access"
    "ion\",\"specimen_status\",\"priority\",\"specimen_type\",\"container\",\"collected_at\","
    "\"received_at\",\"patient\",\"tests\",\"due_at\",\"minutes_late\"],\"properties\":{\"acc"
    "ession\":{\"type\":\"string\"},\"specimen_status\":{\"type\":\"string\"},\"priority\":{"
    "\"type\":\"string\",\"enum\":[\"routine\",\"asap\",\"stat\"]},\"specimen_type\":{\"type"
    "\":\"string\"},\"container\":{\"type\":\"string\"},\"collected_at\":{\"type\":\"string\""
    ",\"format\":\"date-time\",\"nullable\":true},\"received_at\":{\"type\":\"string\",\"form"
    "at\":\"date-time\",\"nullable\":true},\"patient\":{\"type\":\"object\",\"required\":[\"i"
    "d\",\"mrn\",\"name\"],\"properties\":{\"id\":{\"type\":\"string\"},\"mrn\":{\"type\":\"s"
    "tring\"},\"name\":{\"type\":\"string\"}}},\"tests\":{\"type\":\"array\",\"items\":{\"typ"
    "e\":\"object\",\"required\":[\"code\",\"name\",\"status\",\"result_id\",\"flag\"],\"prop"
    "erties\":{\"code\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},\"status\":{\"ty"
    "pe\":\"string\"},\"result_id\":{\"type\":\"string\",\"nullable\":true},\"flag\":{\"type"
    "\":\"string\",\"nullable\":true}}}},\"due_at\":{\"type\":\"string\",\"format\":\"date-ti"
    "me\",\"nullable\":true},\"minutes_late\":{\"type\":\"integer\",\"minimum\":0}}}}}}"
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
     "pending, delivered; proficiency-testing events: open, submitted, graded, closed)"},
    {"type", "string", NULL, "Message type, e.g. ORU^R01 or astm:results"},
    {"control_id", "string", NULL, "Message control id (HL7 MSH-10, ASTM H.3)"},
    {"peer", "string", NULL, "Peer address:port or device path"},
    {"test", "string", NULL, "Catalog test code"},
    {"month", "string", NULL, "A month, YYYY-MM"},
    {"open", "boolean", NULL,
     "true: only those still open (lockouts not closed, alerts not acknowledged)"},
    {"last_event_id", "integer", NULL,
     "Resume after this event id (what the Last-Event-ID header says on a reconnection)"},
    {"stage", "string", NULL,
     "Worklist stage: to-collect, to-receive, in-progress (default), to-review, released (the "
     "last 24 hours)"},
    {"priority", "string", NULL, "routine, asap or stat"},
    {"specimen_type", "string", NULL, "The catalog's specimen type: serum, whole blood, urine..."},
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
    else if (rt->response && !strcmp(rt->response, "EventStream"))
        json_object_set_new(
            responses, code,
            json_pack("{s:s,s:{s:{s:{s:s,s:s}}}}", "description",
                      "A stream of events, each `id`, `event` (its kind) and `data` (one JSON "
                      "object, schema LiveEvent), and `: heartbeat` comments; `event: reset` "
                      "when events were missed, `event: session-ended` before it closes",
                      "content", "text/event-stream", "schema", "type", "string", "description",
                      "Server-Sent Events (LiveEvent objects as data)"));
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
