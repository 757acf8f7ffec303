#pragma once
// IngestService: the application behind ingestd's HTTP server (SPEC §3). Routes requests,
// applies the checks in SPEC order (route → method → size → signature → parse → publish),
// and answers from the EventSink's verdict. No sockets here: tests drive it directly.

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "ingest/event_sink.h"
#include "common/http/handler.h"
#include "ingest/ingest_config.h"
#include "ingest/rate_limiter.h"
#include "ingest/readiness.h"

namespace spdlog {
class logger;
}

namespace wi::ingest {

struct IngestMetrics {
  explicit IngestMetrics(metrics::Registry& registry);
  metrics::Family<metrics::Counter>& requests;            // {source,status}
  metrics::Family<metrics::Counter>& signature_failures;  // {source}
  metrics::Histogram& publish_seconds;
  metrics::Gauge& in_flight;
  metrics::Histogram& body_bytes;
  metrics::Counter& connections_refused;  // beyond INGEST_MAX_CONNECTIONS
};

class IngestService final : public http::RequestHandler {
 public:
  IngestService(const IngestConfig& config, EventSink& sink, const Readiness& readiness,
                metrics::Registry& registry, const Clock& clock);
  ~IngestService() override;

  http::HeadDecision on_head(const http::RequestHead& head) override;
  void handle(http::Request request, http::Responder respond) override;
  void on_rejected(const http::RequestHead* head, int status, std::string_view reason) override;
  void on_connection_refused() override;

  // After this, new requests get 503 with Connection: close; requests already accepted finish.
  void begin_drain() { draining_ = true; }
  bool draining() const { return draining_; }
  // Webhook requests accepted and not yet answered.
  std::int64_t in_flight() const { return in_flight_.load(); }

 private:
  struct RoutedSource;
  struct Route;
  Route route(const http::RequestHead& head) const;
  void handle_webhook(const RoutedSource& source, http::Request request, http::Responder respond);
  void handle_challenge(const http::Request& request, const http::Responder& respond);
  // Counts, logs (for errors) and sends.
  // `counted`: the series to count this answer in, when the caller has it at hand (the hot
  // path's 200s); else it is looked up by label.
  void finish(const std::string& source_label, const http::Responder& respond,
              http::Response response, std::string_view reason,
              metrics::Counter* counted = nullptr);

  const IngestConfig& config_;
  EventSink& sink_;
  const Readiness& readiness_;
  metrics::Registry& registry_;
  const Clock& clock_;
  TokenBucket connection_refusal_log_{1.0, 1.0};  // one log line a second at most
  IngestMetrics metrics_;
  std::vector<std::unique_ptr<RoutedSource>> sources_;
  std::shared_ptr<spdlog::logger> log_;
  std::atomic<bool> draining_{false};
  std::atomic<std::int64_t> in_flight_{0};
};

}  // namespace wi::ingest
