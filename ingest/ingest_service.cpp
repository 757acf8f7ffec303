#include "ingest/ingest_service.h"

#include <fmt/format.h>

#include <optional>
#include <string_view>

#include "common/codec.h"
#include "common/json_text.h"
#include "common/utf8.h"
#include "common/log.h"
#include "ingest/http_status.h"

namespace wi::ingest {

namespace {

constexpr const char* kUnknownSource = "unknown";  // label for paths an attacker may invent
constexpr const char* kNoSource = "-";             // label for /healthz, /metrics, ...
constexpr std::uint64_t kMaxBodyForGet = 0;

http::Response json_ok(std::string body) {
  http::Response r;
  r.status = 200;
  r.headers.push_back({"Content-Type", "application/json"});
  r.body = std::move(body);
  return r;
}

http::Response with_header(http::Response r, std::string name, std::string value) {
  r.headers.push_back({std::move(name), std::move(value)});
  return r;
}

// The value of query parameter `name`, percent-decoded; nullopt when absent or undecodable.
std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return codec::percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

// SPEC §4: record header values are UTF-8, and the 200 answer's event_id is the record's
// event-id byte for byte (a JSON answer can only carry UTF-8). All but `source` (configured)
// and `received-at` (ours) come from the request: a value that is not UTF-8 is a verified
// request that does not parse, 400. Returns the message naming the first such value; it names
// the value, never quotes it.
std::optional<std::string> non_utf8_header(const kafka::Headers& headers) {
  for (const auto& header : headers) {
    if (utf8::is_valid(header.value)) continue;
    if (header.name == "event-id") return "event id is not valid UTF-8";
    if (header.name == "event-type") return "event type is not valid UTF-8";
    // content-type and http-<name>: the request header's name, lowercase as configured.
    std::string_view name = header.name;
    if (name.starts_with("http-")) name.remove_prefix(5);
    return fmt::format("header {} is not valid UTF-8", name);
  }
  return std::nullopt;
}

}  // namespace

IngestMetrics::IngestMetrics(metrics::Registry& registry)
    : requests(registry.counter("ingest_requests_total", "HTTP requests answered, by source and status",
                                {"source", "status"})),
      signature_failures(registry.counter("ingest_signature_failures_total",
                                          "Webhook requests rejected for their signature",
                                          {"source"})),
      publish_seconds(registry
                          .histogram("ingest_publish_seconds",
                                     "Time from handing a record to the sink until it was durable",
                                     metrics::kLatencyBuckets)
                          .with({})),
      in_flight(registry.gauge("ingest_in_flight", "Webhook requests accepted and not yet answered")
                    .with({})),
      body_bytes(registry
                     .histogram("ingest_body_bytes", "Size of verified webhook bodies",
                                metrics::exponential_buckets(256, 4, 10))
                     .with({})),
      connections_refused(registry
                              .counter("ingest_connections_refused_total",
                                       "Connections closed at once: INGEST_MAX_CONNECTIONS were open")
                              .with({})) {}

struct IngestService::RoutedSource {
  SourceConfig config;
  std::unique_ptr<Source> source;
  mutable TokenBucket bucket;  // the only mutable part: shared by every request
  metrics::Counter& signature_failures;
  metrics::Counter& accepted;  // ingest_requests_total{source,status="200"}
};

struct IngestService::Route {
  enum class Kind { kNone, kUnknownSource, kWebhook, kHealth, kReady, kMetrics } kind = Kind::kNone;
  const RoutedSource* source = nullptr;
};

IngestService::IngestService(const IngestConfig& config, EventSink& sink,
                             const Readiness& readiness, metrics::Registry& registry,
                             const Clock& clock)
    : config_(config),
      sink_(sink),
      readiness_(readiness),
      registry_(registry),
      clock_(clock),
      metrics_(registry),
      log_(log::get("ingestd")) {
  for (const auto& sc : config.sources) {
    auto built = make_source(sc.settings);
    if (!built) throw std::invalid_argument(built.error().message);  // config validated this
    sources_.push_back(std::unique_ptr<RoutedSource>(new RoutedSource{
        sc, std::move(*built), TokenBucket(sc.rate_limit.per_second, sc.rate_limit.burst),
        metrics_.signature_failures.with({sc.settings.name}),
        metrics_.requests.with({sc.settings.name, "200"})}));
  }
}

IngestService::~IngestService() = default;

IngestService::Route IngestService::route(const http::RequestHead& head) const {
  const std::string_view path = head.path();
  Route r;
  constexpr std::string_view kPrefix = "/webhooks/";
  if (path.rfind(kPrefix, 0) == 0) {
    std::string_view name = path.substr(kPrefix.size());
    r.kind = Route::Kind::kUnknownSource;
    for (const auto& s : sources_) {
      if (s->config.settings.name == name) {
        r.kind = Route::Kind::kWebhook;
        r.source = s.get();
      }
    }
  } else if (path == "/healthz") {
    r.kind = Route::Kind::kHealth;
  } else if (path == "/readyz") {
    r.kind = Route::Kind::kReady;
  } else if (path == "/metrics") {
    r.kind = Route::Kind::kMetrics;
  }
  return r;
}

http::HeadDecision IngestService::on_head(const http::RequestHead& head) {
  auto r = route(head);
  auto reject = [&](const char* label, http::Response response, std::string_view reason) {
    metrics_.requests.with({label, std::to_string(response.status)}).inc();
    log_->info("rejected source={} status={} reason={}", label, response.status, log::quoted(reason));
    return http::HeadDecision{std::move(response), 0};
  };
  switch (r.kind) {
    case Route::Kind::kNone:
      return reject(kNoSource, error_response(ErrorCode::kNotFound, "not found"), "no such path");
    case Route::Kind::kUnknownSource:
      return reject(kUnknownSource, error_response(ErrorCode::kNotFound, "unknown source"),
                    "unknown or disabled source");
    case Route::Kind::kHealth:
    case Route::Kind::kReady:
    case Route::Kind::kMetrics:
      if (head.method != "GET" && head.method != "HEAD") {
        return reject(kNoSource,
                      with_header(error_response(ErrorCode::kMethodNotAllowed, "method not allowed"),
                                  "Allow", "GET, HEAD"),
                      "method not allowed");
      }
      return {std::nullopt, kMaxBodyForGet};
    case Route::Kind::kWebhook:
      break;
  }
  const auto& name = r.source->config.settings.name;
  const bool challenge_allowed = r.source->config.settings.kind == SourceKind::kDropbox;
  if (head.method == "GET" && challenge_allowed) return {std::nullopt, kMaxBodyForGet};
  if (head.method != "POST") {
    return reject(name.c_str(),
                  with_header(error_response(ErrorCode::kMethodNotAllowed, "method not allowed"),
                              "Allow", challenge_allowed ? "GET, POST" : "POST"),
                  "method not allowed");
  }
  if (draining_) {
    auto response =
        with_header(error_response(ErrorCode::kUnavailable, "shutting down"), "Retry-After", "1");
    response.close = true;
    return reject(name.c_str(), std::move(response), "draining");
  }
  auto limit = static_cast<std::uint64_t>(r.source->config.max_body_bytes);
  if (head.content_length && *head.content_length > limit) {
    // The same words as the parser's 413 for a chunked body that grows past the limit.
    return reject(name.c_str(),
                  error_response(ErrorCode::kTooLarge, http::describe(http::ParseError::kBodyTooLarge)),
                  fmt::format("content-length {} over the limit {}", *head.content_length, limit));
  }
  return {std::nullopt, limit};
}

void IngestService::on_rejected(const http::RequestHead* head, int status,
                                std::string_view reason) {
  const char* label = kNoSource;
  if (head) {
    auto r = route(*head);
    if (r.kind == Route::Kind::kWebhook) label = r.source->config.settings.name.c_str();
    if (r.kind == Route::Kind::kUnknownSource) label = kUnknownSource;
  }
  metrics_.requests.with({label, std::to_string(status)}).inc();
  log_->info("rejected source={} status={} reason={}", label, status, log::quoted(reason));
}

void IngestService::on_connection_refused() {
  metrics_.connections_refused.inc();
  // Counted always, logged at most once a second: a flood must not become a log flood.
  if (connection_refusal_log_.try_take(clock_.steady_now()).taken) {
    log_->warn("connection refused: INGEST_MAX_CONNECTIONS open (ingest_connections_refused_total={})",
               metrics_.connections_refused.value());
  }
}

void IngestService::finish(const std::string& source_label, const http::Responder& respond,
                           http::Response response, std::string_view reason,
                           metrics::Counter* counted) {
  if (counted) {
    counted->inc();
  } else {
    metrics_.requests.with({source_label, std::to_string(response.status)}).inc();
  }
  if (response.status >= 400) {
    log_->info("rejected source={} status={} reason={}", source_label, response.status,
               log::quoted(reason));
  }
  respond(std::move(response));
}

void IngestService::handle(http::Request request, http::Responder respond) {
  auto r = route(request.head);
  switch (r.kind) {
    case Route::Kind::kHealth:
      finish(kNoSource, respond, json_ok("{\"status\":\"ok\"}"), "");
      return;
    case Route::Kind::kReady: {
      bool ready = readiness_.ready() && !draining_;
      auto response = ready ? json_ok("{\"status\":\"ready\"}")
                            : error_response(ErrorCode::kUnavailable,
                                             draining_ ? "shutting down" : "kafka is not reachable");
      finish(kNoSource, respond, std::move(response), "not ready");
      return;
    }
    case Route::Kind::kMetrics: {
      http::Response response;
      response.status = 200;
      response.headers.push_back({"Content-Type", metrics::content_type()});
      response.body = registry_.render();
      finish(kNoSource, respond, std::move(response), "");
      return;
    }
    case Route::Kind::kWebhook:
      if (request.head.method == "GET") {
        handle_challenge(request, respond);
      } else {
        handle_webhook(*r.source, std::move(request), std::move(respond));
      }
      return;
    case Route::Kind::kNone:
    case Route::Kind::kUnknownSource:
      break;
  }
  // on_head rejected these already; answer consistently if a caller skipped it.
  finish(kUnknownSource, respond, error_response(ErrorCode::kNotFound, "not found"),
         "no such path");
}

void IngestService::handle_challenge(const http::Request& request,
                                     const http::Responder& respond) {
  const auto& name = route(request.head).source->config.settings.name;
  auto challenge = query_param(request.head.query(), "challenge");
  if (!challenge) {
    finish(name, respond, error_response(ErrorCode::kInvalidArgument, "missing challenge parameter"),
           "no challenge");
    return;
  }
  // Echoed verbatim as Dropbox requires; text/plain + nosniff keep it from being a reflected
  // XSS vector (PROVIDERS.md).
  http::Response response;
  response.status = 200;
  response.headers.push_back({"Content-Type", "text/plain"});
  response.headers.push_back({"X-Content-Type-Options", "nosniff"});
  response.body = std::move(*challenge);
  finish(name, respond, std::move(response), "");
}

void IngestService::handle_webhook(const RoutedSource& routed, http::Request request,
                                   http::Responder respond) {
  const auto& name = routed.config.settings.name;
  InboundRequest inbound{request.head.method, request.head.target, request.head.headers,
                         request.body};
  auto verdict = routed.source->verify(inbound, clock_.now());
  if (!verdict.valid) {
    routed.signature_failures.inc();
    finish(name, respond, error_response(ErrorCode::kUnauthenticated, "invalid signature"),
           verdict.reason);
    return;
  }
  if (auto take = routed.bucket.try_take(clock_.steady_now()); !take.taken) {
    finish(name, respond,
           with_header(error_response(ErrorCode::kRateLimited, "rate limit exceeded"),
                       "Retry-After", std::to_string(take.retry_after.count())),
           "rate limited");
    return;
  }
  auto info = routed.source->describe(inbound);
  if (!info) {
    finish(name, respond, error_response(info.error().code, info.error().message),
           info.error().message);
    return;
  }

  kafka::OutgoingRecord record;
  record.topic = routed.config.topic;
  record.key = std::move(info->key);
  const std::string* content_type = request.head.headers.find("Content-Type");
  // Built in place (an initializer list would copy every string once more).
  record.headers.reserve(5 + routed.config.forward_headers.size());
  record.headers.push_back({"source", name});
  record.headers.push_back({"event-id", info->event_id});
  record.headers.push_back({"event-type", std::move(info->event_type)});
  record.headers.push_back({"received-at", format_rfc3339_ms(request.received_at)});
  record.headers.push_back({"content-type", content_type ? *content_type : std::string()});
  // Always under http-: a request can never set a header the workers act on (replayed-from,
  // redrive-for-group, dlq-*), whatever the allowlist says.
  for (const auto& allowed : routed.config.forward_headers) {
    if (const std::string* v = request.head.headers.find(allowed)) {
      record.headers.push_back({"http-" + allowed, *v});
    }
  }
  // The one place every record header value is checked, whichever kind or field it came from.
  if (auto problem = non_utf8_header(record.headers)) {
    finish(name, respond, error_response(ErrorCode::kInvalidArgument, *problem), *problem);
    return;
  }
  metrics_.body_bytes.observe(static_cast<double>(request.body.size()));
  record.value = std::move(request.body);

  // One answer per request, whichever of the sink's verdict and the enqueued-mode early
  // answer comes first. Everything the answer needs lives here, so the sink's callback
  // captures only `this` and one pointer (this runs for every webhook).
  struct Pending {
    std::atomic<bool> answered{false};
    const RoutedSource* routed;
    http::Responder respond;
    std::string event_id;
    SteadyTime started;
  };
  auto pending = std::make_shared<Pending>();
  pending->routed = &routed;
  pending->respond = std::move(respond);
  pending->event_id = std::move(info->event_id);
  pending->started = clock_.steady_now();
  ++in_flight_;
  metrics_.in_flight.inc();
  // The answer; false when the other path answered already.
  auto answer = [this](Pending& p, http::Response response, std::string_view reason) {
    if (p.answered.exchange(true)) return false;
    --in_flight_;
    metrics_.in_flight.dec();
    metrics::Counter* counted = response.status == 200 ? &p.routed->accepted : nullptr;
    finish(p.routed->config.settings.name, p.respond, std::move(response), reason, counted);
    return true;
  };
  auto ok = [](const Pending& p) {
    return json_ok("{\"event_id\":" + json::quote(p.event_id) + "}");
  };
  const bool durable = config_.ack == AckMode::kDurable;
  sink_.accept(std::move(record), [this, pending, answer, ok, durable](Status s) {
    metrics_.publish_seconds.observe(
        std::chrono::duration<double>(clock_.steady_now() - pending->started).count());
    if (s.ok()) {
      answer(*pending, ok(*pending), "");
      return;
    }
    std::string reason = fmt::format("not durable: {}", s.error().message);
    // Not stored. A record larger than its topic takes will never be: say so (413), a retry
    // would only fail again. Any other reason is worth a retry later.
    http::Response refusal =
        s.error().code == ErrorCode::kTooLarge
            ? error_response(ErrorCode::kTooLarge,
                             "event larger than its Kafka topic accepts (max.message.bytes)")
            : with_header(error_response(ErrorCode::kUnavailable,
                                         "cannot store the event now, retry later"),
                          "Retry-After", "5");
    if (!answer(*pending, std::move(refusal), reason) &&
        !durable) {
      // Enqueued mode answered 200 already: this is the documented loss window.
      log_->error("lost after 200 (INGEST_ACK=enqueued) source={} event_id={} reason={}",
                  pending->routed->config.settings.name, log::quoted(pending->event_id),
                  log::quoted(s.error().message));
    }
  });
  if (!durable) answer(*pending, ok(*pending), "");
}

}  // namespace wi::ingest
