#include "workers/runtime/metrics_endpoint.h"

namespace wi::worker {

http::HeadDecision MetricsEndpoint::on_head(const http::RequestHead& head) {
  auto path = head.path();
  if (path != "/healthz" && path != "/metrics") return {http::json_error(404, "not found"), 0};
  if (head.method != "GET" && head.method != "HEAD") {
    auto r = http::json_error(405, "method not allowed");
    r.headers.push_back({"Allow", "GET, HEAD"});
    return {std::move(r), 0};
  }
  return {std::nullopt, 0};
}

void MetricsEndpoint::handle(http::Request request, http::Responder respond) {
  http::Response r;
  if (request.head.path() == "/metrics") {
    r.status = 200;
    r.headers.push_back({"Content-Type", metrics::content_type()});
    r.body = registry_.render();
  } else if (healthy_) {
    r.status = 200;
    r.headers.push_back({"Content-Type", "application/json"});
    r.body = "{\"status\":\"ok\"}";
  } else {
    r = http::json_error(503, "not consuming");
  }
  respond(std::move(r));
}

}  // namespace wi::worker
