#include "ctl/bench/bodies.h"

#include <fmt/format.h>

#include <map>
#include <utility>
#include <vector>

#include "common/codec.h"
#include "common/crypto.h"
#include "common/json_text.h"

namespace wi::ctl {
namespace {

using ingest::FieldRef;
using ingest::SourceKind;

constexpr std::string_view kJsonPadding = ",\"padding\":\"";  // then x..x, then "}
constexpr std::string_view kFormPadding = "&payload[padding]=";
constexpr std::uint64_t kKeyVariants = 16;
constexpr const char* kBenchType = "bench.event";

std::string seq12(std::uint64_t seq) {
  return fmt::format("{:012d}", seq);
}

// A JSON object built from RFC 6901 pointers to string values, members in insertion order.
class JsonObject {
 public:
  // False when `pointer` needs an object where a string is, or the reverse. Setting the same
  // pointer twice keeps the first value (e.g. a key that is the event id).
  bool set(std::string_view pointer, const std::string& value) {
    JsonObject* node = this;
    std::vector<std::string> tokens = split(pointer);
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      const bool last = i + 1 == tokens.size();
      Member* m = node->find(tokens[i]);
      if (m == nullptr) {
        node->members_.push_back({tokens[i], last ? value : "", last, {}});
        m = &node->members_.back();
        if (!last) m->child = std::make_unique<JsonObject>();
      } else if (m->is_leaf != last) {
        return false;
      }
      if (last) return true;
      node = m->child.get();
    }
    return false;  // the empty pointer
  }

  void serialize(std::string& out) const {
    out.push_back('{');
    for (std::size_t i = 0; i < members_.size(); ++i) {
      if (i > 0) out.push_back(',');
      json::append_string(out, members_[i].name);
      out.push_back(':');
      if (members_[i].is_leaf) {
        json::append_string(out, members_[i].value);
      } else {
        members_[i].child->serialize(out);
      }
    }
    out.push_back('}');
  }

 private:
  struct Member {
    std::string name;
    std::string value;
    bool is_leaf = false;
    std::unique_ptr<JsonObject> child;
  };

  static std::vector<std::string> split(std::string_view pointer) {
    std::vector<std::string> tokens;
    if (pointer.empty() || pointer.front() != '/') return tokens;
    pointer.remove_prefix(1);
    while (true) {
      const std::size_t slash = pointer.find('/');
      std::string token;
      const std::string_view raw = pointer.substr(0, slash);
      for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '~' && i + 1 < raw.size()) {
          token.push_back(raw[i + 1] == '1' ? '/' : '~');
          ++i;
        } else {
          token.push_back(raw[i]);
        }
      }
      tokens.push_back(std::move(token));
      if (slash == std::string_view::npos) break;
      pointer.remove_prefix(slash + 1);
    }
    return tokens;
  }

  Member* find(const std::string& name) {
    for (auto& m : members_) {
      if (m.name == name) return &m;
    }
    return nullptr;
  }

  std::vector<Member> members_;
};

// "{...}" without its closing brace, ready for the padding member.
std::string open_object(const JsonObject& object) {
  std::string out;
  object.serialize(out);
  out.pop_back();
  return out;
}

bool set_ref(JsonObject& object, const FieldRef& ref, const std::string& value) {
  return ref.from != FieldRef::From::kJsonPointer || object.set(ref.name, value);
}

}  // namespace

Result<BodyMaker> BodyMaker::create(const ingest::SourceSettings& settings, std::size_t body_bytes,
                                    std::string run_tag) {
  BodyMaker maker(settings, body_bytes, std::move(run_tag));
  // The longest unpadded body has the widest sequence number.
  BenchBody probe;
  auto longest = maker.unpadded(999'999'999'999ULL, probe);
  if (!longest) return longest.error();
  const std::size_t suffix =
      maker.kind_ == SourceKind::kChargify ? kFormPadding.size() : kJsonPadding.size() + 2;
  const std::size_t minimum = longest->size() + suffix;
  if (body_bytes < minimum) {
    return Error::invalid(fmt::format("--body-bytes {} is too small for a {} body: at least {}",
                                      body_bytes, ingest::to_string(maker.kind_), minimum));
  }
  return maker;
}

Result<std::string> BodyMaker::unpadded(std::uint64_t seq, BenchBody& out) const {
  const std::string n = seq12(seq);
  const std::string key = fmt::format("key-{:02d}", seq % kKeyVariants);
  switch (kind_) {
    case SourceKind::kDropbox:
      return fmt::format(
          R"({{"list_folder":{{"accounts":["dbid:bench-{}-{}"]}},"delta":{{"users":[{}]}})",
          run_tag_, n, seq + 1);
    case SourceKind::kChargify:
      // Chargify ids are numeric: the run tag's digits, then the sequence number.
      out.event_id = run_tag_ + n;
      return fmt::format(
          "id={}&event=test&payload[subscription][id]={}&payload[site][subdomain]="
          "ingestctl-bench",
          out.event_id, seq % 1024 + 1);
    case SourceKind::kGithub: {
      out.event_id = github_delivery(seq);
      out.options.event_id = out.event_id;
      const std::uint64_t variant = seq % kGithubVariants;
      const std::string after =
          codec::hex_encode(crypto::sha256(run_tag_ + std::to_string(variant))).substr(0, 40);
      return fmt::format(
          R"({{"ref":"refs/heads/main","before":"{}","after":"{}","created":false,"deleted":false,)"
          R"("forced":false,"repository":{{"full_name":"bench/repo-{}","default_branch":"main"}},)"
          R"("pusher":{{"name":"ingestctl-bench","email":"bench@example.invalid"}},)"
          R"("head_commit":null,"commits":[])",
          std::string(40, '0'), after, variant);
    }
    case SourceKind::kStandard:
    case SourceKind::kStripe:
    case SourceKind::kHmac: {
      JsonObject body;
      const std::string id = (kind_ == SourceKind::kStripe ? "evt_" : "msg_") + run_tag_ + "_" + n;
      bool ok = true;
      if (kind_ == SourceKind::kStripe) {
        ok = body.set("/id", id) && body.set("/object", "event");
      }
      if (kind_ != SourceKind::kHmac) ok = ok && body.set("/type", kBenchType);
      if (kind_ == SourceKind::kHmac) {
        ok = set_ref(body, id_, id) && set_ref(body, type_, kBenchType);
      }
      ok = ok && set_ref(body, key_, key) && body.set("/bench/seq", n);
      if (!ok) {
        return Error::invalid(
            "cannot build a JSON body for this source's id/type/key pointers "
            "(one pointer runs through another's value)");
      }
      if (kind_ != SourceKind::kStripe) out.options.event_id = id;
      out.event_id = id;  // hmac without an id field: replaced by the body digest
      if (type_.from == FieldRef::From::kHeader) out.options.event = kBenchType;
      out.options.key = key;
      return open_object(body);
    }
  }
  return Error::invalid("unknown source kind");
}

std::string BodyMaker::github_delivery(std::uint64_t seq) const {
  // UUID-shaped like GitHub's delivery GUIDs: the run tag, then the sequence number.
  return fmt::format("{}-0000-4000-8000-{:012x}", run_tag_, seq);
}

BenchBody BodyMaker::make(std::uint64_t seq) const {
  BenchBody out;
  // create() built the widest body already: unpadded() cannot fail here.
  std::string body = unpadded(seq, out).value_or("");
  if (kind_ == SourceKind::kChargify) {
    body.append(kFormPadding);
    body.append(body_bytes_ - body.size(), 'x');
  } else {
    body.append(kJsonPadding);
    body.append(body_bytes_ - body.size() - 2, 'x');
    body.append("\"}");
  }
  if (kind_ == SourceKind::kDropbox ||
      (kind_ == SourceKind::kHmac && id_.from == FieldRef::From::kNone)) {
    out.event_id = codec::hex_encode(crypto::sha256(body));  // the kind's default id
  }
  out.body = std::move(body);
  return out;
}

}  // namespace wi::ctl
