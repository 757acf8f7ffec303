#pragma once
// Configuration loading shared by every binary: an optional YAML file, then the environment
// (the environment wins), with every problem collected and reported at once.
//
// Each binary builds its own immutable config struct from a Loader and calls finish(), which
// throws ConfigError listing every problem (bad values, missing settings, unknown YAML keys).
// main() maps ConfigError to exit code 2. This is the only code that reads the environment.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret.h"

namespace wi::config {

// A snapshot of environment variables; tests pass a map instead of touching the process.
class Environment {
 public:
  Environment() = default;
  explicit Environment(std::map<std::string, std::string> vars) : vars_(vars.begin(), vars.end()) {}
  static Environment from_process();

  // An unset and an empty variable are the same: not set.
  std::optional<std::string> get(std::string_view name) const;

 private:
  std::map<std::string, std::string, std::less<>> vars_;
};

// Thrown by Loader::finish(): one message listing every problem found.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<std::string> problems);
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  std::vector<std::string> problems_;
};

// A path into the YAML document: map keys, or list indexes written as decimal strings.
using Path = std::vector<std::string>;
std::string to_string(const Path& path);

class Loader {
 public:
  // Parses the YAML file at `yaml_path` (none: environment only). A missing or malformed file
  // is recorded as a problem, not thrown, so that it is reported with everything else.
  Loader(std::optional<std::string> yaml_path, Environment env);
  // For tests and for callers that already hold the text.
  static Loader from_yaml_text(std::string_view yaml, Environment env);
  ~Loader();
  Loader(Loader&&) noexcept;

  const Environment& env() const { return env_; }

  // Typed settings: `env_name` (may be empty: YAML only) beats the YAML value at `path`
  // (may be empty: environment only), which beats the default.
  std::string string(const Path& path, std::string_view env_name, std::string fallback);
  std::optional<std::string> optional_string(const Path& path, std::string_view env_name);
  std::int64_t integer(const Path& path, std::string_view env_name, std::int64_t fallback,
                       std::int64_t min, std::int64_t max);
  double number(const Path& path, std::string_view env_name, double fallback, double min,
                double max);
  bool boolean(const Path& path, std::string_view env_name, bool fallback);
  // One of `allowed`; anything else is a problem naming the allowed values.
  std::string choice(const Path& path, std::string_view env_name, std::string fallback,
                     const std::vector<std::string>& allowed);
  std::vector<std::string> string_list(const Path& path);
  std::map<std::string, std::string> string_map(const Path& path);

  // Secrets come only from the environment: NAME, or NAME_FILE holding a path whose content
  // (trailing newline stripped) is the secret. Both set is a problem.
  std::optional<Secret> secret(std::string_view env_name);
  // A secret read from a file named in configuration (e.g. rotation lists in YAML).
  std::optional<Secret> secret_from_file(const Path& where, const std::string& file_path);

  // Structure of the YAML document, for maps keyed by user-chosen names and lists.
  bool has(const Path& path) const;
  std::vector<std::string> keys(const Path& path);  // map keys, in document order
  std::size_t list_size(const Path& path);

  // Marks a whole subtree as known (a section another binary validates).
  void ignore(const Path& path);
  // Records a problem found while interpreting values (cross-field checks).
  void problem(std::string message);

  // A value that is secret although it comes from YAML (a kafka.properties password, a deploy
  // target's env value): scrubbed from logs like the environment's secrets.
  void add_secret(std::string value);
  // Every secret read so far, for the log redactor.
  const std::vector<Secret>& secrets() const { return secrets_; }
  // Called with each secret read from now on (by secret(), secret_from_file(), add_secret()),
  // so that a log set up before the rest of the settings are read redacts them as soon as
  // they are known (the worker runtime: a worker kind reads its own secrets after logging is
  // set up). One listener; a second call replaces it.
  void on_secret(std::function<void(const Secret&)> listener);

  // Reports unknown YAML keys and throws ConfigError if any problem was recorded.
  void finish();

 private:
  struct Yaml;
  Loader(Environment env);
  std::optional<std::string> scalar(const Path& path);
  // Keeps a secret for secrets() and tells the listener.
  const Secret& keep_secret(std::string value);
  // The raw text of a setting and where it came from ("KAFKA_BROKERS" or "kafka.brokers").
  std::optional<std::pair<std::string, std::string>> raw(const Path& path,
                                                         std::string_view env_name);

  Environment env_;
  std::unique_ptr<Yaml> yaml_;
  std::vector<std::string> problems_;
  std::vector<Secret> secrets_;
  std::function<void(const Secret&)> on_secret_;
};

// Settings every binary shares (SPEC §2).
struct CommonConfig {
  std::string kafka_brokers = "127.0.0.1:9092";
  std::string log_level = "info";
  std::string log_format = "text";
  // librdkafka properties passed through verbatim (YAML `kafka.properties`), for operators
  // who need TLS/SASL or tuning without a new release. The secret ones (is_secret_property)
  // are registered with the loader as secrets.
  std::map<std::string, std::string> kafka_properties;
};
CommonConfig load_common(Loader& loader);

// librdkafka properties whose value is a secret: *password*, *secret*, ssl.key.pem,
// sasl.oauthbearer.config.
bool is_secret_property(std::string_view name);

// Where the YAML file comes from: --config, else INGEST_CONFIG, else none.
std::optional<std::string> config_path(const std::optional<std::string>& flag,
                                       const Environment& env);

}  // namespace wi::config
