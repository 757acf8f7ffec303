#include "common/config.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

extern char** environ;

namespace wi::config {

namespace {

bool is_index(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

}  // namespace

// ---- Environment -----------------------------------------------------------------------------

Environment Environment::from_process() {
  std::map<std::string, std::string> vars;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    vars.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return Environment(std::move(vars));
}

std::optional<std::string> Environment::get(std::string_view name) const {
  auto it = vars_.find(name);
  if (it == vars_.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

// ---- ConfigError ------------------------------------------------------------------------------

ConfigError::ConfigError(std::vector<std::string> problems)
    : std::runtime_error("invalid configuration:\n  - " + join(problems, "\n  - ")),
      problems_(std::move(problems)) {}

std::string to_string(const Path& path) {
  std::string out;
  for (const auto& seg : path) {
    if (is_index(seg)) {
      out += "[" + seg + "]";
    } else {
      if (!out.empty()) out += ".";
      out += seg;
    }
  }
  return out;
}

// ---- Loader -----------------------------------------------------------------------------------

struct Loader::Yaml {
  YAML::Node root;
  bool loaded = false;
  std::set<std::string> known;    // paths read (and their ancestors)
  std::set<std::string> ignored;  // subtrees another binary validates

  void mark(const Path& path) {
    Path prefix;
    for (const auto& seg : path) {
      prefix.push_back(seg);
      known.insert(to_string(prefix));
    }
  }

  // Looks up `path` without modifying the document (yaml-cpp's non-const operator[] inserts).
  std::optional<YAML::Node> find(const Path& path) const {
    if (!loaded) return std::nullopt;
    YAML::Node cur;
    cur.reset(root);  // rebinding, never assigning: assignment would modify the document
    for (const auto& seg : path) {
      const YAML::Node& c = cur;
      // Copy-constructed, never assigned or reset(): for a missing key c[seg] is an invalid
      // node, and assigning or resetting from one throws YAML::InvalidNode.
      auto next = [&]() -> std::optional<YAML::Node> {
        if (c.IsMap()) return c[seg];
        if (c.IsSequence() && is_index(seg)) {
          std::size_t i = std::stoul(seg);
          if (i >= c.size()) return std::nullopt;
          return c[i];
        }
        return std::nullopt;
      }();
      if (!next || !next->IsDefined() || next->IsNull()) return std::nullopt;
      cur.reset(*next);
    }
    return cur;
  }

  void unknown_keys(const YAML::Node& node, Path& path, std::vector<std::string>& problems) const {
    if (node.IsMap()) {
      for (const auto& kv : node) {
        // YAML allows a list or a map as a key ("? [a]: x"); no setting is named that way.
        if (!kv.first.IsScalar()) {
          problems.push_back(fmt::format("{}: a key must be a plain name, not a list or map",
                                         path.empty() ? std::string("top level") : to_string(path)));
          continue;
        }
        path.push_back(kv.first.as<std::string>());
        std::string name = to_string(path);
        if (ignored.count(name)) {
          // validated elsewhere
        } else if (!known.count(name)) {
          problems.push_back(fmt::format("{}: unknown key", name));
        } else {
          unknown_keys(kv.second, path, problems);
        }
        path.pop_back();
      }
    } else if (node.IsSequence()) {
      for (std::size_t i = 0; i < node.size(); ++i) {
        path.push_back(std::to_string(i));
        unknown_keys(node[i], path, problems);
        path.pop_back();
      }
    }
  }
};

Loader::Loader(Environment env) : env_(std::move(env)), yaml_(std::make_unique<Yaml>()) {}

Loader::Loader(std::optional<std::string> yaml_path, Environment env) : Loader(std::move(env)) {
  if (!yaml_path) return;
  try {
    yaml_->root = YAML::LoadFile(*yaml_path);
    yaml_->loaded = true;
  } catch (const YAML::BadFile&) {
    problems_.push_back(fmt::format("config file {}: cannot be read", *yaml_path));
  } catch (const YAML::Exception& e) {
    problems_.push_back(fmt::format("config file {}: {}", *yaml_path, e.what()));
  }
  if (yaml_->loaded && !yaml_->root.IsNull() && !yaml_->root.IsMap()) {
    problems_.push_back(fmt::format("config file {}: the top level must be a map", *yaml_path));
    yaml_->loaded = false;
  }
}

Loader Loader::from_yaml_text(std::string_view yaml, Environment env) {
  Loader loader(std::move(env));
  try {
    loader.yaml_->root = YAML::Load(std::string(yaml));
    loader.yaml_->loaded = true;
  } catch (const YAML::Exception& e) {
    loader.problems_.push_back(fmt::format("config: {}", e.what()));
  }
  if (loader.yaml_->loaded && !loader.yaml_->root.IsNull() && !loader.yaml_->root.IsMap()) {
    loader.problems_.push_back("config: the top level must be a map");
    loader.yaml_->loaded = false;
  }
  return loader;
}

Loader::~Loader() = default;
Loader::Loader(Loader&&) noexcept = default;

std::optional<std::string> Loader::scalar(const Path& path) {
  if (path.empty()) return std::nullopt;
  auto node = yaml_->find(path);
  yaml_->mark(path);
  if (!node) return std::nullopt;
  if (!node->IsScalar()) {
    problems_.push_back(fmt::format("{}: expected a single value", to_string(path)));
    return std::nullopt;
  }
  return node->as<std::string>();
}

std::optional<std::pair<std::string, std::string>> Loader::raw(const Path& path,
                                                               std::string_view env_name) {
  // Read the YAML value even when the environment wins, so the key counts as known.
  auto from_yaml = scalar(path);
  if (!env_name.empty()) {
    if (auto v = env_.get(env_name)) return std::make_pair(*v, std::string(env_name));
  }
  if (from_yaml) return std::make_pair(*from_yaml, to_string(path));
  return std::nullopt;
}

std::string Loader::string(const Path& path, std::string_view env_name, std::string fallback) {
  auto v = raw(path, env_name);
  return v ? v->first : std::move(fallback);
}

std::optional<std::string> Loader::optional_string(const Path& path, std::string_view env_name) {
  auto v = raw(path, env_name);
  if (!v) return std::nullopt;
  return v->first;
}

std::int64_t Loader::integer(const Path& path, std::string_view env_name, std::int64_t fallback,
                             std::int64_t min, std::int64_t max) {
  auto v = raw(path, env_name);
  if (!v) return fallback;
  std::int64_t out = 0;
  const auto& text = v->first;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || end != text.data() + text.size()) {
    problems_.push_back(fmt::format("{}: '{}' is not a whole number", v->second, text));
    return fallback;
  }
  if (out < min || out > max) {
    problems_.push_back(
        fmt::format("{}: {} is out of range (allowed {}..{})", v->second, out, min, max));
    return fallback;
  }
  return out;
}

double Loader::number(const Path& path, std::string_view env_name, double fallback, double min,
                      double max) {
  auto v = raw(path, env_name);
  if (!v) return fallback;
  char* end = nullptr;
  errno = 0;
  double out = std::strtod(v->first.c_str(), &end);
  if (v->first.empty() || errno != 0 || end != v->first.c_str() + v->first.size()) {
    problems_.push_back(fmt::format("{}: '{}' is not a number", v->second, v->first));
    return fallback;
  }
  if (out < min || out > max) {
    problems_.push_back(
        fmt::format("{}: {} is out of range (allowed {}..{})", v->second, out, min, max));
    return fallback;
  }
  return out;
}

bool Loader::boolean(const Path& path, std::string_view env_name, bool fallback) {
  auto v = raw(path, env_name);
  if (!v) return fallback;
  auto text = lower(v->first);
  if (text == "true" || text == "yes" || text == "on" || text == "1") return true;
  if (text == "false" || text == "no" || text == "off" || text == "0") return false;
  problems_.push_back(fmt::format("{}: '{}' is not a boolean (true/false)", v->second, v->first));
  return fallback;
}

std::string Loader::choice(const Path& path, std::string_view env_name, std::string fallback,
                           const std::vector<std::string>& allowed) {
  auto v = raw(path, env_name);
  if (!v) return fallback;
  if (std::find(allowed.begin(), allowed.end(), v->first) == allowed.end()) {
    problems_.push_back(fmt::format("{}: '{}' is not one of {}", v->second, v->first,
                                    join(allowed, "|")));
    return fallback;
  }
  return v->first;
}

std::vector<std::string> Loader::string_list(const Path& path) {
  std::vector<std::string> out;
  auto node = yaml_->find(path);
  yaml_->mark(path);
  if (!node) return out;
  if (!node->IsSequence()) {
    problems_.push_back(fmt::format("{}: expected a list", to_string(path)));
    return out;
  }
  for (std::size_t i = 0; i < node->size(); ++i) {
    const YAML::Node& item = (*node)[i];
    if (!item.IsScalar()) {
      problems_.push_back(fmt::format("{}[{}]: expected a single value", to_string(path), i));
      continue;
    }
    out.push_back(item.as<std::string>());
  }
  return out;
}

std::map<std::string, std::string> Loader::string_map(const Path& path) {
  std::map<std::string, std::string> out;
  auto node = yaml_->find(path);
  yaml_->mark(path);
  if (!node) return out;
  if (!node->IsMap()) {
    problems_.push_back(fmt::format("{}: expected a map", to_string(path)));
    return out;
  }
  for (const auto& kv : *node) {
    if (!kv.first.IsScalar()) continue;  // finish() reports it (unknown_keys)
    auto key = kv.first.as<std::string>();
    Path child = path;
    child.push_back(key);
    yaml_->mark(child);
    if (!kv.second.IsScalar()) {
      problems_.push_back(fmt::format("{}: expected a single value", to_string(child)));
      continue;
    }
    out[key] = kv.second.as<std::string>();
  }
  return out;
}

std::optional<Secret> Loader::secret(std::string_view env_name) {
  std::string file_var = std::string(env_name) + "_FILE";
  auto direct = env_.get(env_name);
  auto file = env_.get(file_var);
  if (direct && file) {
    problems_.push_back(
        fmt::format("{} and {} are both set; set only one", env_name, file_var));
    return std::nullopt;
  }
  if (direct) return keep_secret(*direct);
  if (file) return secret_from_file({file_var}, *file);
  return std::nullopt;
}

std::optional<Secret> Loader::secret_from_file(const Path& where, const std::string& file_path) {
  std::ifstream in(file_path, std::ios::binary);
  std::string origin = where.empty() ? "secret file" : to_string(where);
  if (!in) {
    problems_.push_back(fmt::format("{}: cannot read {}", origin, file_path));
    return std::nullopt;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  std::string value = buf.str();
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  if (value.empty()) {
    problems_.push_back(fmt::format("{}: {} is empty", origin, file_path));
    return std::nullopt;
  }
  return keep_secret(std::move(value));
}

bool Loader::has(const Path& path) const { return yaml_->find(path).has_value(); }

std::vector<std::string> Loader::keys(const Path& path) {
  std::vector<std::string> out;
  auto node = yaml_->find(path);
  yaml_->mark(path);
  if (!node) return out;
  if (!node->IsMap()) {
    problems_.push_back(fmt::format("{}: expected a map", to_string(path)));
    return out;
  }
  for (const auto& kv : *node) {
    if (kv.first.IsScalar()) out.push_back(kv.first.as<std::string>());  // else: finish() says
  }
  return out;
}

std::size_t Loader::list_size(const Path& path) {
  auto node = yaml_->find(path);
  yaml_->mark(path);
  if (!node) return 0;
  if (!node->IsSequence()) {
    problems_.push_back(fmt::format("{}: expected a list", to_string(path)));
    return 0;
  }
  return node->size();
}

void Loader::ignore(const Path& path) {
  yaml_->mark(path);  // its parents are known too, or they would be reported as unknown keys
  yaml_->ignored.insert(to_string(path));
}

void Loader::problem(std::string message) { problems_.push_back(std::move(message)); }

void Loader::finish() {
  if (yaml_->loaded) {
    Path path;
    yaml_->unknown_keys(yaml_->root, path, problems_);
  }
  // A setting read by two parts of one binary (ingestd's topic layout and its own limits both
  // read INGEST_MAX_BODY_BYTES) is one problem, listed once, where it was first found.
  std::set<std::string> seen;
  std::erase_if(problems_, [&](const std::string& p) { return !seen.insert(p).second; });
  if (!problems_.empty()) throw ConfigError(problems_);
}

// ---- Common settings --------------------------------------------------------------------------

bool is_secret_property(std::string_view name) {
  return name.find("password") != std::string_view::npos ||
         name.find("secret") != std::string_view::npos || name == "ssl.key.pem" ||
         name == "sasl.oauthbearer.config";
}

void Loader::add_secret(std::string value) {
  if (!value.empty()) keep_secret(std::move(value));
}

void Loader::on_secret(std::function<void(const Secret&)> listener) {
  on_secret_ = std::move(listener);
}

const Secret& Loader::keep_secret(std::string value) {
  const Secret& kept = secrets_.emplace_back(std::move(value));
  if (on_secret_) on_secret_(kept);
  return kept;
}

CommonConfig load_common(Loader& loader) {
  CommonConfig c;
  c.kafka_brokers = loader.string({"kafka", "brokers"}, "KAFKA_BROKERS", c.kafka_brokers);
  c.kafka_properties = loader.string_map({"kafka", "properties"});
  for (const auto& [name, value] : c.kafka_properties) {
    if (is_secret_property(name)) loader.add_secret(value);
  }
  c.log_level =
      loader.choice({"log", "level"}, "LOG_LEVEL", c.log_level, {"debug", "info", "warn", "error"});
  c.log_format = loader.choice({"log", "format"}, "LOG_FORMAT", c.log_format, {"text", "json"});
  return c;
}

std::optional<std::string> config_path(const std::optional<std::string>& flag,
                                       const Environment& env) {
  if (flag && !flag->empty()) return flag;
  return env.get("INGEST_CONFIG");
}

}  // namespace wi::config
