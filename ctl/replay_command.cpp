// `ingestctl replay`: moves a group's committed offsets back to a point in time, or
// re-publishes the records of one event (SPEC §6).
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <map>

#include "common/kafka/control_headers.h"
#include "common/clock.h"
#include "ctl/command.h"
#include "ctl/interrupt.h"
#include "ctl/topic_scan.h"

namespace wi::ctl {

namespace {

using namespace std::chrono_literals;

using kafka::control_headers::kRedriveForGroup;
using kafka::control_headers::kReplayedFrom;

std::string position_text(std::int64_t offset) {
  return offset >= 0 ? std::to_string(offset) : std::string("none");
}

class ReplayCommand final : public Command {
 public:
  CLI::App* add_to(CLI::App& parent) override {
    auto* cmd = parent.add_subcommand(
        "replay", "Replay records: move a consumer group back to a time, or re-publish one event");
    cmd->footer(
        "Two forms:\n"
        "  replay --group G --topic T --from-time T1 [--dry-run] [--allow-skip]\n"
        "      Sets G's committed offset on every partition of T to the first record at or\n"
        "      after T1 (a partition with none goes to its end) and prints\n"
        "      'partition P: <old|none> → <new>'. Refused (exit 1) while G has active\n"
        "      members, dry run included: stop the group's workers first. With --dry-run it\n"
        "      only prints. Moving a partition forward would skip records the group has not\n"
        "      handled: refused (exit 1, nothing changed) unless --allow-skip is given; each\n"
        "      such partition says how many. A partition without a committed offset is\n"
        "      never 'forward'.\n"
        "  replay --topic T --event-id ID [--for-group G] [--dry-run]\n"
        "      Reads T from the oldest record to its end at start and re-publishes every record\n"
        "      whose event-id header is ID to T (same key, value and headers, acks=all) with\n"
        "      'replayed-from: T/<partition>/<offset>'. With --for-group the copy also carries\n"
        "      'redrive-for-group: G': only group G handles it, every other group skips it\n"
        "      (one deploy host rolls back, not all). Without it, a redrive-for-group header\n"
        "      of the original is dropped: every group handles the copy. Copies made by earlier\n"
        "      replays are not copied again while an original is still in T (if only copies\n"
        "      remain, the oldest is). Exit 1 when no record matches.\n"
        "Times are RFC 3339 (2026-11-27T01:35:50Z) or relative (-15m, -2h, -1d).\n"
        "Exit codes: 0 ok, 1 failure or refusal, 2 usage.");
    cmd->add_option("--topic", topic_, "Topic to replay")->required();
    auto* group = cmd->add_option("--group", group_, "Consumer group whose offsets move");
    auto* from = cmd->add_option("--from-time", from_time_,
                                 "Replay from the first record at or after this time");
    auto* event = cmd->add_option("--event-id", event_id_, "Re-publish the records of this event");
    group->needs(from);
    from->needs(group);
    event->excludes(group);
    event->excludes(from);
    cmd->add_option("--for-group", for_group_,
                    "With --event-id: only this consumer group handles the copy "
                    "(redrive-for-group)")
        ->needs(event);
    cmd->add_flag("--allow-skip", allow_skip_,
                  "With --group: allow moving offsets forward (skips unhandled records)")
        ->needs(group);
    cmd->add_flag("--dry-run", dry_run_, "Print what would change; change nothing");
    return cmd;
  }

  int run(const GlobalFlags& flags) override {
    if (!event_id_ && !group_) {
      std::cerr << "ingestctl replay: give either --group and --from-time, or --event-id "
                   "(see --help)\n";
      return kExitUsage;
    }
    std::optional<SystemTime> from;
    if (from_time_) {
      auto t = parse_time(*from_time_, SystemClock().now());
      if (!t) {
        std::cerr << "ingestctl replay: --from-time: " << t.error().message << "\n";
        return kExitUsage;
      }
      from = *t;
    }
    auto config = load_config(flags);
    interrupted_ = &stop_on_interrupt();
    return event_id_ ? replay_event(config) : rewind_group(config, *from);
  }

 private:
  const std::atomic<bool>* interrupted_ = nullptr;  // set by run()
  static int fail(const std::string& message) {
    std::cerr << "ingestctl replay: " << message << "\n";
    return kExitFailure;
  }

  int rewind_group(const CtlConfig& config, SystemTime from) {
    auto admin = kafka::RdKafkaAdmin::create(client_options(config));
    if (!admin) return fail(admin.error().message);
    auto group = (*admin)->describe_group(*group_, kKafkaTimeout);
    if (!group) return fail(group.error().message);
    if (!group->inactive()) return refuse(*group);

    // A consumer carrying the group id reads the group's committed offsets without joining it.
    kafka::ConsumerOptions options;
    options.client = client_options(config);
    options.group_id = *group_;
    auto consumer = kafka::RdKafkaConsumer::create(options);
    if (!consumer) return fail(consumer.error().message);
    auto& c = **consumer;
    auto target = c.offsets_for_time(topic_, to_unix_ms(from), kKafkaTimeout);
    if (!target) return fail(target.error().message);
    std::vector<kafka::TopicPartition> partitions;
    for (const auto& t : *target) partitions.push_back({topic_, t.partition});
    auto committed = c.committed(partitions, kKafkaTimeout);
    if (!committed) return fail(committed.error().message);
    c.close();
    std::map<std::int32_t, std::int64_t> old;
    for (const auto& o : *committed) old[o.partition] = o.offset;

    std::sort(target->begin(), target->end(),
              [](const auto& a, const auto& b) { return a.partition < b.partition; });
    std::cout << fmt::format("group {} on {}: first records at or after {}\n", *group_, topic_,
                             format_rfc3339_ms(from));
    std::int64_t skipped = 0;
    int forward = 0;
    for (const auto& t : *target) {
      auto was = old.count(t.partition) ? old[t.partition] : kafka::Consumer::kOffsetInvalid;
      std::string note;
      if (was >= 0 && t.offset > was) {
        note =
            fmt::format("  (forward: skips {} records the group has not handled)", t.offset - was);
        skipped += t.offset - was;
        ++forward;
      }
      std::cout << fmt::format("partition {}: {} → {}{}\n", t.partition, position_text(was),
                               t.offset, note);
    }
    // A forward move loses work silently (the group never sees those records): only on request.
    std::string refusal;
    if (forward > 0 && !allow_skip_) {
      refusal = fmt::format(
          "moving {} partition{} forward would skip {} records group {} has not handled; "
          "refused (pass --allow-skip to skip them deliberately)",
          forward, forward == 1 ? "" : "s", skipped, *group_);
    }
    if (dry_run_) {
      if (!refusal.empty()) std::cout << "a real run would be refused: " << refusal << "\n";
      std::cout << "dry run: no offsets committed\n";
      return kExitOk;
    }
    if (!refusal.empty()) return fail(refusal);
    // The broker refuses the change if a member joined since the check above.
    if (auto s = (*admin)->alter_group_offsets(*group_, *target, kKafkaTimeout); !s) {
      return fail(s.error().message);
    }
    std::cout << fmt::format("committed {} offsets for group {}; its workers resume from there\n",
                             target->size(), *group_);
    return kExitOk;
  }

  int refuse(const kafka::GroupDescription& group) {
    std::string text = fmt::format(
        "group {} is active (state {}, {} member{}); stop its workers before moving its "
        "offsets:",
        group.group, group.state, group.members.size(), group.members.size() == 1 ? "" : "s");
    for (const auto& m : group.members) {
      text += fmt::format("\n  member {} client {} host {}", m.member_id, m.client_id, m.host);
    }
    if (group.members.empty()) text += "\n  (no member listed yet: the group is rebalancing)";
    return fail(text);
  }

  int replay_event(const CtlConfig& config) {
    kafka::ConsumerOptions options;
    options.client = client_options(config);
    auto consumer = kafka::RdKafkaConsumer::create(options);
    if (!consumer) return fail(consumer.error().message);
    auto& c = **consumer;
    auto ranges = plan_scan(c, topic_, {}, kKafkaTimeout);
    if (!ranges) return fail(ranges.error().message);

    std::vector<kafka::ConsumedRecord> matches;
    auto scanned = scan_ranges(
        c, topic_, *ranges,
        [&](const kafka::ConsumedRecord& rec) -> Status {
          const std::string* id = kafka::find_header(rec.headers, "event-id");
          if (id && *id == *event_id_) matches.push_back(rec);
          return {};
        },
        kStallLimit, *interrupted_);
    c.close();
    if (!scanned) return fail(scanned.error().message);
    if (matches.empty()) {
      return fail(fmt::format("no record in {} has event-id {}", topic_, *event_id_));
    }

    std::vector<const kafka::ConsumedRecord*> chosen;
    for (const auto& m : matches) {
      if (!kafka::find_header(m.headers, kReplayedFrom)) chosen.push_back(&m);
    }
    for (const auto& m : matches) {
      if (chosen.empty() || kafka::find_header(m.headers, kReplayedFrom) == nullptr) continue;
      std::cout << fmt::format("skipped {}/{}/{}: a copy made by an earlier replay (of {})\n",
                               m.topic, m.partition, m.offset,
                               *kafka::find_header(m.headers, kReplayedFrom));
    }
    if (chosen.empty()) {
      // Only copies are left (the original expired): one copy stands for the event.
      auto oldest = std::min_element(matches.begin(), matches.end(), [](auto& a, auto& b) {
        return a.timestamp_ms < b.timestamp_ms;
      });
      chosen.push_back(&*oldest);
    }

    std::unique_ptr<kafka::RdKafkaPublisher> publisher;
    if (!dry_run_) {
      kafka::PublisherOptions popts;
      popts.client = client_options(config);
      auto p = kafka::RdKafkaPublisher::create(popts);
      if (!p) return fail(p.error().message);
      publisher = std::move(p).value();
    }
    for (const auto* m : chosen) {
      std::string source = fmt::format("{}/{}/{}", m->topic, m->partition, m->offset);
      if (dry_run_) {
        std::cout << fmt::format("would republish {} event_id={}{}\n", source, *event_id_,
                                 for_group_ ? " for-group=" + *for_group_ : "");
        continue;
      }
      kafka::OutgoingRecord out;
      out.topic = topic_;
      out.key = m->key;
      out.value = m->value;
      out.tombstone = m->null_value;
      for (const auto& h : m->headers) {
        if (h.name != kReplayedFrom && h.name != kRedriveForGroup) out.headers.push_back(h);
      }
      out.headers.push_back({kReplayedFrom, source});
      if (for_group_) out.headers.push_back({kRedriveForGroup, *for_group_});
      auto delivered = kafka::publish_and_wait(*publisher, std::move(out), kKafkaTimeout);
      if (!delivered) {
        return fail(fmt::format("republishing {}: {}", source, delivered.error().message));
      }
      std::cout << fmt::format("republished {} → {}/{}/{} event_id={}{}\n", source, topic_,
                               delivered->partition, delivered->offset, *event_id_,
                               for_group_ ? " for-group=" + *for_group_ : "");
    }
    if (dry_run_) std::cout << "dry run: nothing published\n";
    return kExitOk;
  }

  std::string topic_;
  std::optional<std::string> group_;
  std::optional<std::string> from_time_;
  std::optional<std::string> event_id_;
  std::optional<std::string> for_group_;
  bool allow_skip_ = false;
  bool dry_run_ = false;
};

}  // namespace

std::unique_ptr<Command> make_replay_command() {
  return std::make_unique<ReplayCommand>();
}

}  // namespace wi::ctl
