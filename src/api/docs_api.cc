#include "api/docs_api.h"

namespace warden::api {

void AddDocsRoutes(Router&) {}

}  // namespace warden::api
