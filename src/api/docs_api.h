// GET /openapi.json (the API described in OpenAPI 3) and GET /docs (the same, for humans).
#pragma once

#include "api/router.h"

namespace warden::api {

void AddDocsRoutes(Router& router);

}  // namespace warden::api
