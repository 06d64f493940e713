#include <gtest/gtest.h>

#include "cli/top.h"
#include "core/metrics.h"

namespace relais::cli {
namespace {

// Two reads of relaisd's metrics, 2 s apart.
Samples Read(double accepted, double acked, double depth, double age,
             double fast, double slow) {
  Samples s = metrics::ParseSamples(
      "relais_build_info{version=\"9.9\"} 1\n"
      "relais_sessions 2\n"
      "relais_journal_disk_bytes 3145728\n"
      "relais_messages_accepted_total{sender=\"caf\"} " +
      std::to_string(accepted) +
      "\n"
      "relais_messages_accepted_total{sender=\"cafe\"} 1000\n"
      "relais_acknowledgements_total{recipient=\"cpam\",outcome=\"processed\"}"
      " " +
      std::to_string(acked) +
      "\n"
      "relais_acknowledgements_total{recipient=\"cpam\",outcome=\"rejected\"} "
      "0\n"
      "relais_outbox_depth{recipient=\"cpam\"} " +
      std::to_string(depth) +
      "\n"
      "relais_outbox_oldest_age_seconds{recipient=\"cpam\"} " +
      std::to_string(age) +
      "\n"
      "relais_participant_online{participant=\"caf\"} 1\n"
      "relais_participant_online{participant=\"cafe\"} 0\n"
      "relais_participant_online{participant=\"cpam\"} 0\n"
      "relais_accept_latency_seconds_bucket{le=\"0.001\"} " +
      std::to_string(fast) +
      "\n"
      "relais_accept_latency_seconds_bucket{le=\"0.01\"} " +
      std::to_string(fast + slow) +
      "\n"
      "relais_accept_latency_seconds_bucket{le=\"+Inf\"} " +
      std::to_string(fast + slow) + "\n");
  return s;
}

std::string Line(const std::string& screen, const std::string& start) {
  const size_t at = screen.find("\n" + start);
  if (at == std::string::npos) return "";
  return screen.substr(at + 1, screen.find('\n', at + 1) - at - 1);
}

TEST(TopView, RatesBacklogsAndTheIntervalsPercentiles) {
  const Samples before = Read(100, 10, 4, 30, 100, 0);
  const Samples now = Read(300, 50, 2, 3725, 100, 100);
  const std::string screen =
      RenderTop(now, before, 2.0, "http://x/metrics", "2026-01-01 00:00:00");
  EXPECT_EQ(
      screen.rfind("relais top  http://x/metrics  2026-01-01 00:00:00\n", 0),
      0u)
      << screen;
  EXPECT_NE(screen.find("relaisd 9.9   sessions 2   journal 3.0 MiB"),
            std::string::npos)
      << screen;
  // 200 accepted by caf in 2 s; "cafe" is another participant.
  EXPECT_EQ(Line(screen, "caf "),
            "caf                          yes           0        -     100.0"
            "          0.0       0.0");
  EXPECT_EQ(Line(screen, "cpam"),
            "cpam                         no            2    1h02m       0.0"
            "          0.0      20.0");
  // The interval's 100 accepts were all between 1 and 10 ms.
  EXPECT_NE(screen.find("accept latency  p50 5.5 ms  p99 9.9 ms"),
            std::string::npos)
      << screen;
}

// relais_accept_stage_seconds with these sums and counts.
Samples Stages(double ingress, double queue, double batch, double count) {
  std::string text;
  const std::pair<const char*, double> stages[] = {
      {"ingress", ingress}, {"journal_queue", queue}, {"journal_batch", batch}};
  for (const auto& [stage, sum] : stages) {
    const std::string labels = std::string("{stage=\"") + stage + "\"}";
    text += "relais_accept_stage_seconds_sum" + labels + " " +
            std::to_string(sum) + "\n";
    text += "relais_accept_stage_seconds_count" + labels + " " +
            std::to_string(count) + "\n";
  }
  return metrics::ParseSamples(text);
}

TEST(TopView, TheAcceptStagesAreTheIntervalsMeans) {
  const Samples before = Stages(0.1, 0.2, 0.3, 100);
  const Samples now = Stages(0.3, 0.2, 1.3, 200);
  // 100 accepts in the interval: 0.2 s, 0 s and 1 s in all.
  EXPECT_EQ(Line(RenderTop(now, before, 2.0, "u", "t"), "  its stages"),
            "  its stages (means)  ingress 2.0 ms  journal queue 0.0 ms  "
            "its batch 10.0 ms");
  // The first read: every accept since relaisd started.
  EXPECT_EQ(Line(RenderTop(now, {}, 0, "u", "t"), "  its stages"),
            "  its stages (means)  ingress 1.5 ms  journal queue 1.0 ms  "
            "its batch 6.5 ms");
  // None in the interval; and relaisd restarted (counts went down): since
  // the restart.
  EXPECT_EQ(Line(RenderTop(now, now, 2.0, "u", "t"), "  its stages"),
            "  its stages (means)  ingress -  journal queue -  its batch -");
  EXPECT_EQ(Line(RenderTop(before, now, 2.0, "u", "t"), "  its stages"),
            "  its stages (means)  ingress 1.0 ms  journal queue 2.0 ms  "
            "its batch 3.0 ms");
}

TEST(TopView, TheFirstReadHasNoRatesYet) {
  const std::string screen = RenderTop(Read(1, 1, 0, 0, 1, 0), {}, 0, "u", "t");
  EXPECT_NE(screen.find("accepted/s -   delivered/s -"), std::string::npos)
      << screen;
  EXPECT_NE(screen.find("end to end  no traffic"), std::string::npos);
  EXPECT_NE(screen.find("accept latency  p50 0.5 ms"), std::string::npos)
      << screen;
}

TEST(TopView, SamplesAndLabelsAreReadBack) {
  const auto s = metrics::ParseSamples(
      "# HELP x y\nx 1\nx{a=\"q\\\"uote\",b=\"2\"} 2.5\nbad line\ny +Inf\n");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s.at("x"), 1);
  EXPECT_EQ(metrics::LabelOf("x{a=\"q\\\"uote\",b=\"2\"}", "a"), "q\"uote");
  EXPECT_EQ(metrics::LabelOf("x{a=\"q\\\"uote\",b=\"2\"}", "b"), "2");
  EXPECT_EQ(metrics::LabelOf("x{a=\"1\"}", "c"), "");
  EXPECT_TRUE(std::isinf(s.at("y")));
}

TEST(TopView, WhatTheServerSaysIsShownSafely) {
  // A /metrics answer is the server's text: a label with control
  // characters is escaped, and an age no relaisd could measure is not
  // converted (1e300 seconds used to show as -9223372036854775808s).
  Samples now = metrics::ParseSamples(
      "relais_build_info{version=\"\x1b[2J\x1b[31mEVIL\x07\"} 1\n"
      "relais_sessions 1\n"
      "relais_participant_online{participant=\"cpam\"} 1\n"
      "relais_participant_online{participant=\"\x1b]0;pwn\x07x\"} 1\n"
      "relais_outbox_depth{recipient=\"cpam\"} 1\n"
      "relais_outbox_oldest_age_seconds{recipient=\"cpam\"} 1e300\n");
  const std::string screen = RenderTop(now, {}, 0, "u", "t");
  EXPECT_EQ(screen.find('\x1b'), std::string::npos) << screen;
  EXPECT_EQ(screen.find('\x07'), std::string::npos) << screen;
  EXPECT_NE(screen.find("relaisd \\x1B[2J"), std::string::npos) << screen;
  EXPECT_EQ(screen.find("-9223372036854775808"), std::string::npos) << screen;
  EXPECT_NE(Line(screen, "cpam").find(" ? "), std::string::npos) << screen;
}

}  // namespace
}  // namespace relais::cli
