#include "api/metrics_api.h"

namespace warden::api {

void MetricsApi::AddRoutes(Router&) {}

}  // namespace warden::api
