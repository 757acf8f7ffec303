#pragma once
// Bodies for `ingestctl bench`: for each source kind a document of exactly the asked size
// that the kind accepts, with a unique event id per sequence number, and what the signer must
// put in headers (GitHub delivery, webhook-id, hmac id/type/key headers).

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/result.h"
#include "ingest/sources/signer.h"
#include "ingest/sources/source.h"

namespace wi::ctl {

struct BenchBody {
  std::string body;
  std::string event_id;         // the id ingestd derives for this request
  ingest::SignOptions options;  // header-borne id / type / key
};

class BodyMaker {
 public:
  // `run_tag`: 8 random decimal digits per run, so ids stay unique across runs (digits fit
  // every kind's id syntax, Chargify's numeric ids included). Error::invalid when `body_bytes`
  // cannot hold the kind's document (the message says the minimum) or when the source's JSON
  // pointers cannot all be filled in one body.
  static Result<BodyMaker> create(const ingest::SourceSettings& settings, std::size_t body_bytes,
                                  std::string run_tag);

  // Thread-safe. GitHub bodies cycle through kGithubVariants repository names (the delivery
  // id, in a header, is what differs); every other kind's body is unique per `seq`.
  BenchBody make(std::uint64_t seq) const;

  static constexpr std::uint64_t kGithubVariants = 8;
  // The X-GitHub-Delivery of request `seq` (fixed width, UUID-shaped), as make() sets it.
  std::string github_delivery(std::uint64_t seq) const;

 private:
  BodyMaker(const ingest::SourceSettings& settings, std::size_t body_bytes, std::string run_tag)
      : kind_(settings.kind),
        id_(settings.id),
        type_(settings.type),
        key_(settings.key),
        body_bytes_(body_bytes),
        run_tag_(std::move(run_tag)) {}
  // The body without padding ("{...members" for JSON, "a=b&..." for forms) and the fields.
  Result<std::string> unpadded(std::uint64_t seq, BenchBody& out) const;

  ingest::SourceKind kind_;
  ingest::FieldRef id_, type_, key_;
  std::size_t body_bytes_;
  std::string run_tag_;
};

}  // namespace wi::ctl
