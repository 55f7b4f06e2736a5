package api

import _ "embed"

// openAPI is the OpenAPI 3 document served at /openapi.json.
//
//go:embed openapi.json
var openAPI []byte
