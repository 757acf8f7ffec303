#pragma once
// /healthz and /metrics for a worker process (WORKER_METRICS_LISTEN), on the same HTTP server
// ingestd uses.

#include <atomic>

#include "common/metrics.h"
#include "common/http/handler.h"

namespace wi::worker {

class MetricsEndpoint final : public http::RequestHandler {
 public:
  MetricsEndpoint(metrics::Registry& registry, const std::atomic<bool>& healthy)
      : registry_(registry), healthy_(healthy) {}

  http::HeadDecision on_head(const http::RequestHead& head) override;
  void handle(http::Request request, http::Responder respond) override;
  void on_rejected(const http::RequestHead*, int, std::string_view) override {}

 private:
  metrics::Registry& registry_;
  const std::atomic<bool>& healthy_;
};

}  // namespace wi::worker
