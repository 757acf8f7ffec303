// `ingestctl redrive <topic>.dlq`: re-publishes dead letters to the topic they came from, then
// commits its own progress so that the next redrive starts after them (SPEC §5, §6).
#include <fmt/format.h>

#include <atomic>
#include <iostream>
#include <map>

#include "common/kafka/control_headers.h"
#include "ctl/command.h"
#include "ctl/interrupt.h"
#include "ctl/topic_scan.h"

namespace wi::ctl {

namespace {

using namespace std::chrono_literals;

constexpr const char* kOriginalTopic = kafka::control_headers::kDlqOriginalTopic;
using kafka::control_headers::kDlqGroup;
using kafka::control_headers::kRedriveCount;
using kafka::control_headers::kRedriveForGroup;
constexpr std::string_view kDlqHeaderPrefix = "dlq-";

std::string event_id_of(const kafka::ConsumedRecord& rec) {
  const std::string* id = kafka::find_header(rec.headers, "event-id");
  return id ? *id : "-";
}

// The previous redrive-count plus one (1 when absent or unreadable).
int next_redrive_count(const kafka::Headers& headers) {
  const std::string* previous = kafka::find_header(headers, kRedriveCount);
  if (!previous) return 1;
  try {
    return std::max(0, std::stoi(*previous)) + 1;
  } catch (const std::exception&) {
    return 1;
  }
}

// The dead letter as its original record: key, value and headers without the dlq-* headers,
// with redrive-count set, and redrive-for-group naming the group that dead-lettered it (its
// dlq-group): the other groups already handled the original, so only that one handles it
// again (SPEC §5). A letter without dlq-group keeps the original's redrive-for-group, if any.
kafka::OutgoingRecord restore(const kafka::ConsumedRecord& letter, const std::string& topic,
                              int redrive_count) {
  const std::string* group = kafka::find_header(letter.headers, kDlqGroup);
  if (group && group->empty()) group = nullptr;
  kafka::OutgoingRecord out;
  out.topic = topic;
  out.key = letter.key;
  out.value = letter.value;
  out.tombstone = letter.null_value;
  for (const auto& h : letter.headers) {
    if (h.name.compare(0, kDlqHeaderPrefix.size(), kDlqHeaderPrefix) == 0) continue;
    if (h.name == kRedriveCount) continue;
    if (h.name == kRedriveForGroup && group) continue;
    out.headers.push_back(h);
  }
  out.headers.push_back({kRedriveCount, std::to_string(redrive_count)});
  if (group) out.headers.push_back({kRedriveForGroup, *group});
  return out;
}

// The group a redrive of `letter` is for, as printed ("all" when every group handles it).
std::string for_group_of(const kafka::ConsumedRecord& letter) {
  const std::string* group = kafka::find_header(letter.headers, kDlqGroup);
  if (!group || group->empty()) group = kafka::find_header(letter.headers, kRedriveForGroup);
  return group && !group->empty() ? *group : std::string("all");
}

// Where this run may commit, per partition: past every record it dealt with (redriven or
// skipped as unusable), up to the first record it left alone (not matching --event-id), so
// a later redrive still sees those.
struct Progress {
  std::int64_t commit_at = 0;
  bool blocked = false;
  bool moved = false;
};

class RedriveCommand final : public Command {
 public:
  CLI::App* add_to(CLI::App& parent) override {
    auto* cmd = parent.add_subcommand(
        "redrive", "Re-publish dead letters to their original topic, then commit progress");
    cmd->footer(
        "Reads <topic>.dlq with the consumer group ingestctl-redrive.<topic>.dlq, from its\n"
        "committed position (the oldest record when it has none) up to the end offsets at\n"
        "start. Each dead letter goes back to the topic in its dlq-original-topic header with\n"
        "its original key, value and headers minus the dlq-* headers, plus redrive-count\n"
        "(previous + 1; 1 when absent) and redrive-for-group: <its dlq-group>, so only the\n"
        "consumer group that dead-lettered it handles it again (other groups skip it; a\n"
        "letter without dlq-group goes to every group and the line says 'for-group=all').\n"
        "Each is acknowledged by Kafka (acks=all) before the\n"
        "next; then the group's offsets are committed past them, so a second redrive does\n"
        "not send them again. A record without dlq-original-topic is reported, counted and\n"
        "committed past (it cannot be redriven, and retrying will not change that).\n"
        "With --event-id only matching records are redriven; progress is committed only up to\n"
        "the first record left alone in each partition, so a later full redrive still sees\n"
        "every other dead letter (and may send an already redriven one again).\n"
        "On a failure, what was delivered so far is committed and the exit code is 1.\n"
        "Run one redrive per dead-letter topic at a time.\n"
        "Exit codes: 0 ok (also when there is nothing to redrive), 1 failure, 2 usage.");
    cmd->add_option("dlq", dlq_, "Dead-letter topic, e.g. webhooks.github.dlq")->required();
    cmd->add_option("--event-id", event_id_, "Only redrive dead letters of this event");
    cmd->add_flag("--dry-run", dry_run_,
                  "Print what would be redriven; publish and commit nothing");
    return cmd;
  }

  int run(const GlobalFlags& flags) override {
    const std::string suffix = topics::kDlqSuffix;
    if (dlq_.size() <= suffix.size() ||
        dlq_.compare(dlq_.size() - suffix.size(), suffix.size(), suffix) != 0) {
      std::cerr << "ingestctl redrive: " << dlq_ << " is not a dead-letter topic (<topic>" << suffix
                << ")\n";
      return kExitUsage;
    }
    auto config = load_config(flags);
    interrupted_ = &stop_on_interrupt();

    const std::string group = "ingestctl-redrive." + dlq_;
    kafka::ConsumerOptions options;
    options.client = client_options(config);
    // Only assigned, never subscribed: the group id holds this tool's committed progress.
    options.group_id = group;
    auto consumer = kafka::RdKafkaConsumer::create(options);
    if (!consumer) return fail(consumer.error().message);
    auto& c = **consumer;
    auto partitions = c.partitions_of(dlq_, kKafkaTimeout);
    if (!partitions) return fail(partitions.error().message);
    std::vector<kafka::TopicPartition> tps;
    for (auto p : *partitions) tps.push_back({dlq_, p});
    auto committed = c.committed(tps, kKafkaTimeout);
    if (!committed) return fail(committed.error().message);
    auto ranges = plan_scan(c, dlq_, *committed, kKafkaTimeout);
    if (!ranges) return fail(ranges.error().message);

    std::map<std::int32_t, Progress> progress;
    std::int64_t pending = 0;
    for (const auto& r : *ranges) {
      progress[r.partition].commit_at = r.from;
      pending += r.to - r.from;
    }
    if (pending == 0) {
      std::cout << fmt::format(
          "nothing to redrive: {} has no dead letters after group {}'s "
          "position\n",
          dlq_, group);
      c.close();
      return kExitOk;
    }

    std::unique_ptr<kafka::RdKafkaPublisher> publisher;
    if (!dry_run_) {
      kafka::PublisherOptions popts;
      popts.client = client_options(config);
      auto p = kafka::RdKafkaPublisher::create(popts);
      if (!p) return fail(p.error().message);
      publisher = std::move(p).value();
    }

    int redriven = 0, skipped = 0, left = 0;
    auto visit = [&](const kafka::ConsumedRecord& rec) -> Status {
      auto& prog = progress[rec.partition];
      auto dealt_with = [&] {
        if (prog.blocked) return;
        prog.commit_at = rec.offset + 1;
        prog.moved = true;
      };
      const std::string where = fmt::format("{}/{}/{}", rec.topic, rec.partition, rec.offset);
      const std::string event_id = event_id_of(rec);
      if (event_id_ && event_id != *event_id_) {
        ++left;
        prog.blocked = true;
        return {};
      }
      const std::string* original = kafka::find_header(rec.headers, kOriginalTopic);
      if (!original || original->empty()) {
        ++skipped;
        std::cout << fmt::format("skipped {}: no {} header event_id={}\n", where, kOriginalTopic,
                                 event_id)
                  << std::flush;
        dealt_with();
        return {};
      }
      const int count = next_redrive_count(rec.headers);
      if (dry_run_) {
        ++redriven;
        std::cout << fmt::format("would redrive {} → {} event_id={} redrive-count={} for-group={}\n",
                                 where, *original, event_id, count, for_group_of(rec));
        return {};
      }
      auto delivered =
          kafka::publish_and_wait(*publisher, restore(rec, *original, count), kKafkaTimeout);
      if (!delivered) {
        return Error{
            delivered.error().code,
            fmt::format("redriving {} to {}: {}", where, *original, delivered.error().message),
            delivered.error().retryable};
      }
      ++redriven;
      dealt_with();
      std::cout << fmt::format("redriven {} → {} event_id={} redrive-count={} for-group={}\n",
                               where, *original, event_id, count, for_group_of(rec))
                << std::flush;
      return {};
    };
    auto scanned = scan_ranges(c, dlq_, *ranges, visit, kStallLimit, *interrupted_);

    int code = kExitOk;
    if (!scanned) code = fail(scanned.error().message);
    if (!dry_run_) {
      std::vector<kafka::TopicPartitionOffset> commit;
      for (const auto& [p, prog] : progress) {
        if (prog.moved) commit.push_back({dlq_, p, prog.commit_at});
      }
      if (auto s = c.commit(commit); !s) {
        code =
            fail(fmt::format("committing progress of group {}: {} (a later redrive may send "
                             "these again)",
                             group, s.error().message));
      }
    }
    c.close();

    std::string summary =
        fmt::format("{} {}; skipped {} (no {} header)", dry_run_ ? "would redrive" : "redriven",
                    redriven, skipped, kOriginalTopic);
    if (event_id_) summary += fmt::format("; left {} of other events", left);
    if (redriven + skipped == 0) {
      summary = event_id_ ? fmt::format(
                                "nothing to redrive: no dead letter of event {} in {} "
                                "(left {} of other events)",
                                *event_id_, dlq_, left)
                          : fmt::format("nothing to redrive in {}", dlq_);
    }
    if (dry_run_) summary += "; dry run: nothing published or committed";
    std::cout << summary << "\n";
    return code;
  }

 private:
  const std::atomic<bool>* interrupted_ = nullptr;  // set by run()
  static int fail(const std::string& message) {
    std::cerr << "ingestctl redrive: " << message << "\n";
    return kExitFailure;
  }

  std::string dlq_;
  std::optional<std::string> event_id_;
  bool dry_run_ = false;
};

}  // namespace

std::unique_ptr<Command> make_redrive_command() {
  return std::make_unique<RedriveCommand>();
}

}  // namespace wi::ctl
