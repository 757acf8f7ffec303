#include "ingest/ingest_config.h"

#include <algorithm>
#include <charconv>
#include <map>

#include <fmt/format.h>

#include "common/kafka/control_headers.h"
#include "common/http/headers.h"

namespace wi::ingest {

namespace {

using config::Loader;
using config::Path;

struct BuiltIn {
  const char* name;
  SourceKind kind;
  const char* secret_env;
  std::vector<std::string> forward_headers;
};

const std::vector<BuiltIn>& built_ins() {
  static const std::vector<BuiltIn> list = {
      {"dropbox", SourceKind::kDropbox, "DROPBOX_APP_SECRET", {}},
      {"chargify", SourceKind::kChargify, "CHARGIFY_SHARED_KEY", {"x-chargify-webhook-id"}},
      {"github", SourceKind::kGithub, "GITHUB_WEBHOOK_SECRET", {"x-github-hook-id", "user-agent"}},
  };
  return list;
}

bool valid_source_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
         });
}

std::optional<std::pair<std::string, std::uint16_t>> parse_listen(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  unsigned port = 0;
  auto p = text.data() + colon + 1;
  auto [end, ec] = std::from_chars(p, text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port > 65535) return std::nullopt;
  return std::make_pair(host, static_cast<std::uint16_t>(port));
}

std::chrono::milliseconds millis(Loader& loader, const Path& path, std::string_view env,
                                 std::chrono::milliseconds fallback, std::int64_t min,
                                 std::int64_t max) {
  return std::chrono::milliseconds(loader.integer(path, env, fallback.count(), min, max));
}

// `id: {header: X-Id}` or `id: {json_pointer: /data/id}`.
FieldRef field_ref(Loader& loader, const Path& path) {
  FieldRef ref;
  if (!loader.has(path)) return ref;
  Path header_path = path;
  header_path.push_back("header");
  Path pointer_path = path;
  pointer_path.push_back("json_pointer");
  auto h = loader.optional_string(header_path, "");
  auto p = loader.optional_string(pointer_path, "");
  if (h && p) {
    loader.problem(fmt::format("{}: set either header or json_pointer, not both",
                               config::to_string(path)));
  } else if (h) {
    ref = {FieldRef::From::kHeader, *h};
  } else if (p) {
    if (p->empty() || p->front() != '/') {
      loader.problem(fmt::format("{}: '{}' is not a JSON pointer (it starts with '/')",
                                 config::to_string(pointer_path), *p));
    }
    ref = {FieldRef::From::kJsonPointer, *p};
  } else {
    loader.problem(fmt::format("{}: needs header or json_pointer", config::to_string(path)));
  }
  return ref;
}

RateLimit rate_limit(Loader& loader, const Path& source) {
  RateLimit r;
  Path base = source;
  base.push_back("rate_limit");
  Path per_second = base, burst = base;
  per_second.push_back("per_second");
  burst.push_back("burst");
  r.per_second = loader.number(per_second, "", 0, 0, 1e9);
  r.burst = loader.number(burst, "", std::max(1.0, r.per_second), 0, 1e9);
  if (r.per_second > 0 && r.burst < 1) {
    // The bucket could never hold a whole token: every request would get 429.
    loader.problem(fmt::format("{}: must be at least 1 when per_second is set",
                               config::to_string(burst)));
  }
  return r;
}

// Secrets for one source: each name in `secret_env` (NAME or NAME_FILE), then every path in
// `secret_files`. The built-ins default to their SPEC variable.
std::vector<Secret> source_secrets(Loader& loader, const Path& source, const char* default_env) {
  std::vector<Secret> out;
  Path env_path = source, file_path = source;
  env_path.push_back("secret_env");
  file_path.push_back("secret_files");
  auto env_names = loader.string_list(env_path);
  if (env_names.empty() && default_env) env_names.push_back(default_env);
  for (const auto& name : env_names) {
    if (auto s = loader.secret(name)) out.push_back(*s);
  }
  auto files = loader.string_list(file_path);
  for (std::size_t i = 0; i < files.size(); ++i) {
    Path where = file_path;
    where.push_back(std::to_string(i));
    if (auto s = loader.secret_from_file(where, files[i])) out.push_back(*s);
  }
  for (const auto& s : out) {
    if (s.reveal().size() < 8) {
      loader.problem(fmt::format("{}: a secret is shorter than 8 bytes", config::to_string(source)));
      break;
    }
  }
  return out;
}

Path sub(const Path& base, const char* key) {
  Path p = base;
  p.push_back(key);
  return p;
}

SourceConfig load_source(Loader& loader, const IngestConfig& c, const std::string& name,
                         const BuiltIn* built_in) {
  SourceConfig s;
  Path base = {"sources", name};
  s.settings.name = name;
  std::string kind_default = built_in ? to_string(built_in->kind) : "";
  auto kind_text = loader.optional_string(sub(base, "kind"), "");
  if (!kind_text && !built_in) {
    loader.problem(fmt::format("sources.{}.kind: required (dropbox, chargify, github, standard, "
                               "stripe or hmac)",
                               name));
  }
  auto kind = parse_source_kind(kind_text.value_or(kind_default));
  if (kind) {
    s.settings.kind = *kind;
  } else if (kind_text) {
    loader.problem(fmt::format("sources.{}.kind: {}", name, kind.error().message));
  }
  s.settings.secrets = source_secrets(loader, base, built_in ? built_in->secret_env : nullptr);
  s.settings.tolerance =
      std::chrono::seconds(loader.integer(sub(base, "tolerance_s"), "", 300, 1, 86400));
  s.settings.content_types = loader.string_list(sub(base, "content_types"));
  s.settings.id = field_ref(loader, sub(base, "id"));
  s.settings.type = field_ref(loader, sub(base, "type"));
  s.settings.key = field_ref(loader, sub(base, "key"));
  if (s.settings.kind == SourceKind::kHmac) {
    s.settings.hmac.header = loader.string(sub(base, "header"), "", "");
    if (s.settings.hmac.header.empty()) {
      loader.problem(fmt::format("sources.{}.header: required for kind hmac", name));
    }
    s.settings.hmac.prefix = loader.string(sub(base, "prefix"), "", "");
    s.settings.hmac.encoding =
        loader.choice(sub(base, "encoding"), "", "hex", {"hex", "base64"}) == "base64"
            ? HmacScheme::Encoding::kBase64
            : HmacScheme::Encoding::kHex;
    s.settings.hmac.algorithm =
        loader.choice(sub(base, "algorithm"), "", "sha256", {"sha256", "sha512"}) == "sha512"
            ? crypto::DigestAlgo::kSha512
            : crypto::DigestAlgo::kSha256;
  } else {
    for (const char* hmac_only : {"header", "prefix", "encoding", "algorithm"}) {
      if (loader.has(sub(base, hmac_only))) {
        loader.problem(fmt::format("sources.{}.{}: only for kind hmac", name, hmac_only));
        loader.ignore(sub(base, hmac_only));
      }
    }
  }
  s.max_body_bytes =
      loader.integer(sub(base, "max_body_bytes"), "", c.max_body_bytes, 1, c.max_body_bytes);
  s.rate_limit = rate_limit(loader, base);
  if (loader.has(sub(base, "forward_headers"))) {
    for (const auto& h : loader.string_list(sub(base, "forward_headers"))) {
      auto header = http::to_lower(h);
      // SPEC §4: signature headers never reach Kafka.
      static const std::vector<std::string> kSignatureHeaders = {
          "x-hub-signature-256", "x-hub-signature", "x-dropbox-signature",
          "x-chargify-webhook-signature-hmac-sha-256", "x-chargify-webhook-signature",
          "webhook-signature", "stripe-signature", "authorization"};
      bool is_signature = std::find(kSignatureHeaders.begin(), kSignatureHeaders.end(), header) !=
                              kSignatureHeaders.end() ||
                          (s.settings.kind == SourceKind::kHmac &&
                           header == http::to_lower(s.settings.hmac.header));
      if (is_signature) {
        loader.problem(fmt::format("sources.{}.forward_headers: {} carries a signature and is "
                                   "never forwarded",
                                   name, h));
        continue;
      }
      // Record headers that steer the workers (SPEC §5: the tip rule, redrive-for-group) are
      // written only by ingestctl and the workers. Forwarded headers are stored as http-<name>
      // and so can never become one, but a request must not even look like it set one.
      auto starts_with = [&](std::string_view prefix) { return header.rfind(prefix, 0) == 0; };
      if (header == kafka::control_headers::kReplayedFrom || starts_with("dlq-") || starts_with("redrive-")) {
        loader.problem(fmt::format("sources.{}.forward_headers: {} names a record header that "
                                   "only ingestctl and the workers write; it is never forwarded",
                                   name, h));
        continue;
      }
      s.forward_headers.push_back(std::move(header));
    }
  } else if (built_in) {
    s.forward_headers = built_in->forward_headers;
  }
  s.topic = c.layout.webhook_topic(name);
  return s;
}

}  // namespace

IngestConfig load_ingest_config(Loader& loader) {
  IngestConfig c;
  c.common = config::load_common(loader);
  c.layout = topics::load_layout(loader);

  auto listen = loader.string({"ingest", "listen"}, "INGEST_LISTEN", "0.0.0.0:8080");
  if (auto hp = parse_listen(listen)) {
    c.listen_host = hp->first;
    c.listen_port = hp->second;
  } else {
    loader.problem(fmt::format("INGEST_LISTEN: '{}' is not host:port", listen));
  }
  c.threads = static_cast<int>(loader.integer({"ingest", "threads"}, "INGEST_THREADS", 2, 1, 64));
  c.max_body_bytes = loader.integer({"ingest", "max_body_bytes"}, "INGEST_MAX_BODY_BYTES",
                                    c.max_body_bytes, topics::kMinMaxBodyBytes,
                                    topics::kMaxMaxBodyBytes);
  c.max_head_bytes = loader.integer({"ingest", "max_header_bytes"}, "INGEST_MAX_HEADER_BYTES",
                                    c.max_head_bytes, 1024, 1 << 20);
  c.ack = loader.choice({"ingest", "ack"}, "INGEST_ACK", "durable", {"durable", "enqueued"}) ==
                  "enqueued"
              ? AckMode::kEnqueued
              : AckMode::kDurable;
  c.publish_timeout = millis(loader, {"ingest", "publish_timeout_ms"}, "INGEST_PUBLISH_TIMEOUT_MS",
                             c.publish_timeout, 100, 9000);
  c.header_timeout = millis(loader, {"ingest", "header_timeout_ms"}, "INGEST_HEADER_TIMEOUT_MS",
                            c.header_timeout, 100, 600000);
  c.body_timeout = millis(loader, {"ingest", "body_timeout_ms"}, "INGEST_BODY_TIMEOUT_MS",
                          c.body_timeout, 100, 3600000);
  c.idle_timeout = millis(loader, {"ingest", "idle_timeout_ms"}, "INGEST_IDLE_TIMEOUT_MS",
                          c.idle_timeout, 100, 3600000);
  c.drain_timeout = millis(loader, {"ingest", "drain_timeout_ms"}, "INGEST_DRAIN_TIMEOUT_MS",
                           c.drain_timeout, 100, 9500);
  c.max_connections = loader.integer({"ingest", "max_connections"}, "INGEST_MAX_CONNECTIONS",
                                     c.max_connections, 1, 1 << 20);
  c.max_buffered_bytes = loader.integer({"ingest", "max_buffered_bytes"},
                                        "INGEST_MAX_BUFFERED_BYTES", c.max_buffered_bytes,
                                        1 << 20, 1LL << 40);
  if (c.max_buffered_bytes < c.max_body_bytes + 64) {
    loader.problem(fmt::format(
        "INGEST_MAX_BUFFERED_BYTES ({}) must exceed INGEST_MAX_BODY_BYTES ({}) by at least 64: "
        "a body of the largest allowed size would always be refused",
        c.max_buffered_bytes, c.max_body_bytes));
  }
  c.min_body_rate = loader.integer({"ingest", "min_body_rate"}, "INGEST_MIN_BODY_RATE",
                                   c.min_body_rate, 0, 1LL << 30);
  c.linger_ms = static_cast<int>(
      loader.integer({"ingest", "linger_ms"}, "INGEST_LINGER_MS", c.linger_ms, 0, 1000));
  c.compression = loader.choice({"ingest", "compression"}, "INGEST_COMPRESSION", c.compression,
                                {"none", "gzip", "snappy", "lz4", "zstd"});
  c.tls_cert = loader.optional_string({"ingest", "tls_cert"}, "INGEST_TLS_CERT");
  c.tls_key = loader.optional_string({"ingest", "tls_key"}, "INGEST_TLS_KEY");
  if (c.tls_cert.has_value() != c.tls_key.has_value()) {
    loader.problem("INGEST_TLS_CERT and INGEST_TLS_KEY: set both or neither");
  }
  c.spool_dir = loader.optional_string({"ingest", "spool_dir"}, "INGEST_SPOOL_DIR");
  c.spool_max_bytes = loader.integer({"ingest", "spool_max_bytes"}, "INGEST_SPOOL_MAX_BYTES",
                                     c.spool_max_bytes, 1 << 20, 1LL << 50);
  c.spool_after = millis(loader, {"ingest", "spool_after_ms"}, "INGEST_SPOOL_AFTER_MS",
                         c.spool_after, 100, 9000);

  // Sources: the built-ins exist when their secret is set; the YAML map adds more and may
  // configure the built-ins (rotation secrets, limits, headers).
  auto configured = loader.keys({"sources"});
  for (const auto& b : built_ins()) {
    bool in_yaml = std::find(configured.begin(), configured.end(), b.name) != configured.end();
    if (in_yaml) continue;
    SourceConfig s;
    if (auto secret = loader.secret(b.secret_env)) {
      s.settings.name = b.name;
      s.settings.kind = b.kind;
      s.settings.secrets = {*secret};
      if (secret->reveal().size() < 8) {
        loader.problem(fmt::format("{}: the secret is shorter than 8 bytes", b.secret_env));
      }
      s.max_body_bytes = c.max_body_bytes;
      s.forward_headers = b.forward_headers;
      s.topic = c.layout.webhook_topic(b.name);
      c.sources.push_back(std::move(s));
    } else {
      c.disabled_builtins.push_back(b.name);
    }
  }
  for (const auto& name : configured) {
    if (!valid_source_name(name)) {
      loader.problem(fmt::format("sources.{}: a source name is 1-64 of a-z, 0-9, '-' and '_'",
                                 name));
      loader.ignore({"sources", name});
      continue;
    }
    const BuiltIn* built_in = nullptr;
    for (const auto& b : built_ins()) {
      if (name == b.name) built_in = &b;
    }
    auto s = load_source(loader, c, name, built_in);
    if (s.settings.secrets.empty()) {
      if (built_in && !loader.has({"sources", name, "secret_env"}) &&
          !loader.has({"sources", name, "secret_files"})) {
        c.disabled_builtins.push_back(name);
        continue;
      }
      loader.problem(fmt::format("sources.{}: no secret found (set secret_env or secret_files)",
                                 name));
      continue;
    }
    if (auto built = make_source(s.settings); !built) {
      loader.problem(fmt::format("sources.{}: {}", name, built.error().message));
    }
    c.sources.push_back(std::move(s));
  }
  return c;
}

}  // namespace wi::ingest
