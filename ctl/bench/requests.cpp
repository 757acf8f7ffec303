#include "ctl/bench/requests.h"

#include <fmt/format.h>

#include <cstring>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/crypto.h"
#include "ctl/bench/bodies.h"
#include "ingest/sources/signer.h"

namespace wi::ctl {
namespace {

using ingest::SourceKind;

std::string random_run_tag() {
  const std::string r = crypto::random_bytes(8);
  std::uint64_t v = 0;
  std::memcpy(&v, r.data(), sizeof v);
  return fmt::format("{:08d}", v % 100'000'000ULL);
}

// Signs and frames one body.
Result<std::string> frame(const ingest::SourceSettings& settings, const HttpUrl& url,
                          const BenchBody& body) {
  auto headers = ingest::sign_request(settings, body.body, SystemClock().now(), body.options);
  if (!headers) return headers.error();
  return build_request("POST", url, *headers, body.body, true);
}

// Every request signed afresh: the signature covers what makes the event unique.
class SignedRequests final : public RequestFactory {
 public:
  SignedRequests(ingest::SourceSettings settings, HttpUrl url, BodyMaker bodies,
                 std::size_t body_bytes)
      : settings_(std::move(settings)),
        url_(std::move(url)),
        bodies_(std::move(bodies)),
        body_bytes_(body_bytes) {}

  BenchRequest make(std::uint64_t seq) const override {
    BenchBody body = bodies_.make(seq);
    // make_webhook_requests signed one already; signing depends on nothing that varies.
    return {frame(settings_, url_, body).value_or(""), std::move(body.event_id)};
  }
  bool expensive() const override { return true; }
  std::size_t body_bytes() const override { return body_bytes_; }

 private:
  ingest::SourceSettings settings_;
  HttpUrl url_;
  BodyMaker bodies_;
  std::size_t body_bytes_;
};

// GitHub signs the body only; the delivery id is a header. So a few bodies are signed once
// and each request is a template copy with its delivery id written in place.
class GithubRequests final : public RequestFactory {
 public:
  struct Template {
    std::string bytes;
    std::size_t id_offset;
  };
  GithubRequests(std::vector<Template> templates, BodyMaker bodies, std::size_t body_bytes)
      : templates_(std::move(templates)), bodies_(std::move(bodies)), body_bytes_(body_bytes) {}

  BenchRequest make(std::uint64_t seq) const override {
    const Template& t = templates_[seq % templates_.size()];
    BenchRequest out{t.bytes, bodies_.github_delivery(seq)};
    out.bytes.replace(t.id_offset, out.event_id.size(), out.event_id);
    return out;
  }
  bool expensive() const override { return false; }
  std::size_t body_bytes() const override { return body_bytes_; }

 private:
  std::vector<Template> templates_;
  BodyMaker bodies_;
  std::size_t body_bytes_;
};

class GetRequests final : public RequestFactory {
 public:
  explicit GetRequests(std::string bytes) : bytes_(std::move(bytes)) {}
  BenchRequest make(std::uint64_t) const override { return {bytes_, ""}; }
  bool expensive() const override { return false; }
  std::size_t body_bytes() const override { return 0; }

 private:
  std::string bytes_;
};

// The first request must pass the kind's own verifier and describe to the id we expect, or
// the whole run would measure 401s and a check that cannot succeed.
Status self_check(const ingest::SourceSettings& settings, const BenchRequest& request) {
  const std::size_t head_end = request.bytes.find("\r\n\r\n");
  http::Headers headers;
  std::string_view head = std::string_view(request.bytes).substr(0, head_end);
  head.remove_prefix(head.find("\r\n") + 2);
  while (!head.empty()) {
    const std::size_t end = head.find("\r\n");
    const std::string_view line = head.substr(0, end);
    const std::size_t colon = line.find(':');
    headers.add(std::string(line.substr(0, colon)), std::string(line.substr(colon + 2)));
    if (end == std::string_view::npos) break;
    head.remove_prefix(end + 2);
  }
  const std::string body = request.bytes.substr(head_end + 4);
  auto source = ingest::make_source(settings);
  if (!source) return source.error();
  const ingest::InboundRequest inbound{"POST", "/", headers, body};
  auto verdict = (*source)->verify(inbound, SystemClock().now());
  if (!verdict.valid) return Error::internal("bench request does not verify: " + verdict.reason);
  auto info = (*source)->describe(inbound);
  if (!info) return Error::internal("bench request is refused: " + info.error().message);
  if (info->event_id != request.event_id) {
    return Error::internal("bench request's event id is not the one expected");
  }
  return Status::success();
}

}  // namespace

Result<std::unique_ptr<RequestFactory>> make_webhook_requests(
    const ingest::SourceSettings& settings, const HttpUrl& url, std::size_t body_bytes) {
  auto bodies = BodyMaker::create(settings, body_bytes, random_run_tag());
  if (!bodies) return bodies.error();
  std::unique_ptr<RequestFactory> factory;
  if (settings.kind == SourceKind::kGithub) {
    std::vector<GithubRequests::Template> templates;
    for (std::uint64_t v = 0; v < BodyMaker::kGithubVariants; ++v) {
      BenchBody body = bodies->make(v);
      auto bytes = frame(settings, url, body);
      if (!bytes) return bytes.error();
      const std::string marker = "\r\nX-GitHub-Delivery: " + body.event_id + "\r\n";
      const std::size_t at = bytes->find(marker);
      if (at == std::string::npos) return Error::internal("no delivery header in a bench request");
      templates.push_back({std::move(*bytes), at + marker.size() - 2 - body.event_id.size()});
    }
    factory = std::make_unique<GithubRequests>(std::move(templates), *bodies, body_bytes);
  } else {
    BenchBody first = bodies->make(0);
    if (auto bytes = frame(settings, url, first); !bytes) return bytes.error();
    factory = std::make_unique<SignedRequests>(settings, url, *bodies, body_bytes);
  }
  // Request 1, not 0: for GitHub it is a patched template, the path every request takes.
  if (auto s = self_check(settings, factory->make(1)); !s) return s.error();
  return factory;
}

std::unique_ptr<RequestFactory> make_get_requests(const HttpUrl& url) {
  return std::make_unique<GetRequests>(build_request("GET", url, {}, "", true));
}

}  // namespace wi::ctl
