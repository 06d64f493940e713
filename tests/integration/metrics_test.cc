// Integration: relaisd's /metrics (docs/OPERATIONS.md, "Metrics") on a real
// broker, read as Prometheus would, and checked by Debian's promtool.

#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/files.h"
#include "tests/support/fixtures.h"
#include "tests/support/stack.h"

namespace relais::testing {
namespace {

using std::chrono::seconds;

constexpr char kDesk[] = "france-services/paris-15";

// The value of the sample written exactly `series` ("name{labels}"), or -1
// if the text has none.
double ValueOf(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > series.size() &&
        line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return -1;
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(stack_.StartBroker().ok()) << stack_.BrokerLog();
    ASSERT_TRUE(ReadUrl()) << stack_.BrokerLog();
    auto desk = stack_.Connect(kDesk);
    ASSERT_TRUE(desk.ok()) << desk.status().ToString();
    desk_ = std::move(*desk);
  }

  // relaisd writes its metrics address once it serves it.
  bool ReadUrl() {
    return WaitUntil([&] {
      auto text = ReadFile(stack_.layout().MetricsFile());
      if (!text.ok() || text->empty()) return false;
      url_ = text->substr(0, text->find('\n'));
      return true;
    });
  }

  httplib::Result Get(const std::string& path, std::string url = "") {
    if (url.empty()) url = url_;
    // "http://127.0.0.1:PORT/metrics"
    httplib::Client client(url.substr(0, url.rfind('/')));
    client.set_read_timeout(10, 0);
    return client.Get(path.c_str());
  }

  // relaisd's metrics, or those at `url`.
  std::string Scrape(const std::string& url = "") {
    auto res = Get("/metrics", url);
    EXPECT_TRUE(res) << "no answer from " << (url.empty() ? url_ : url);
    if (!res) return "";
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Content-Type"),
              "text/plain; version=0.0.4; charset=utf-8");
    return res->body;
  }

  double Value(const std::string& series) { return ValueOf(Scrape(), series); }

  // Waits until `series` reads `want`; the last value read otherwise.
  double WaitFor(const std::string& series, double want) {
    double v = -1;
    WaitUntil([&] { return (v = Value(series)) == want; });
    return v;
  }

  std::string Submit(const std::string& recipient) {
    auto sealed = desk_->Seal(SampleDraft(kDesk, {recipient}));
    EXPECT_TRUE(sealed.ok());
    auto receipt = desk_->Submit(*sealed, seconds(10));
    EXPECT_TRUE(receipt.ok()) << receipt.status().ToString();
    return sealed->message_id;
  }

  TestStack stack_;
  std::unique_ptr<sdk::Client> desk_;
  std::string url_;
};

// What promtool says of `text` ("" if it finds nothing wrong).
std::string PromtoolProblems(const std::string& dir, const std::string& text) {
  const std::string in = dir + "/scrape.txt";
  const std::string out = dir + "/promtool.out";
  EXPECT_TRUE(WriteFileAtomic(in, text).ok());
  const std::string command =
      "promtool check metrics < '" + in + "' > '" + out + "' 2>&1";
  const int rc = std::system(command.c_str());
  auto said = ReadFile(out);
  if (rc == 0) return said.ok() ? *said : "";
  return "promtool failed (" + std::to_string(rc) +
         "): " + (said.ok() ? *said : std::string("no output"));
}

TEST_F(MetricsTest, BacklogGrowsWhileARecipientIsAwayAndDrainsWhenItComes) {
  EXPECT_EQ(Value("relais_participant_online{participant=\"caf\"}"), 0);
  for (int i = 0; i < 3; ++i) Submit("caf");
  const std::string before = Scrape();
  EXPECT_EQ(ValueOf(before, "relais_submits_received_total{participant=\"" +
                                std::string(kDesk) + "\"}"),
            3);
  EXPECT_EQ(ValueOf(before, "relais_messages_accepted_total{sender=\"" +
                                std::string(kDesk) + "\"}"),
            3);
  EXPECT_EQ(ValueOf(before, "relais_outbox_depth{recipient=\"caf\"}"), 3);
  EXPECT_EQ(ValueOf(before, "relais_outbox_depth{recipient=\"cpam\"}"), 0);
  EXPECT_GE(
      ValueOf(before, "relais_outbox_oldest_age_seconds{recipient=\"caf\"}"),
      0);
  EXPECT_EQ(ValueOf(before, "relais_accept_latency_seconds_count"), 3);
  // Its three stages: one observation each per message, and they add up
  // to it.
  double stages = 0;
  for (const std::string stage :
       {"ingress", "journal_queue", "journal_batch"}) {
    const std::string labels = "{stage=\"" + stage + "\"}";
    EXPECT_EQ(ValueOf(before, "relais_accept_stage_seconds_count" + labels), 3)
        << stage;
    const double sum =
        ValueOf(before, "relais_accept_stage_seconds_sum" + labels);
    EXPECT_GE(sum, 0) << stage;
    stages += sum;
  }
  EXPECT_GT(ValueOf(before,
                    "relais_accept_stage_seconds_sum{stage=\"journal_batch\"}"),
            0);
  EXPECT_NEAR(stages, ValueOf(before, "relais_accept_latency_seconds_sum"),
              1e-9);
  EXPECT_GE(ValueOf(before, "relais_journal_batches_total"), 1);
  // A sync covers one synced batch or more, written while the last ran.
  EXPECT_GE(ValueOf(before, "relais_journal_syncs_total"), 1);
  EXPECT_LE(ValueOf(before, "relais_journal_syncs_total"),
            ValueOf(before, "relais_journal_batches_total"));
  // One timed write per synced batch, each taking some time.
  EXPECT_EQ(ValueOf(before, "relais_journal_write_seconds_count"),
            ValueOf(before, "relais_journal_batches_total"));
  EXPECT_GT(ValueOf(before, "relais_journal_write_seconds_sum"), 0);
  EXPECT_GT(ValueOf(before, "relais_journal_disk_bytes"), 0);
  // Nothing has reached the end of its retention (30 days after expiry).
  EXPECT_EQ(ValueOf(before, "relais_journal_payloads_deleted_total"), 0);
  EXPECT_GT(ValueOf(before, "relais_process_resident_memory_bytes"), 1 << 20);
  // The desk takes no deliveries (window 0): connected, but not online.
  EXPECT_EQ(ValueOf(before, "relais_participant_online{participant=\"" +
                                std::string(kDesk) + "\"}"),
            0);
  EXPECT_EQ(PromtoolProblems(stack_.dir(), before), "");

  // The oldest waiting message ages while caf is away.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_GE(Value("relais_outbox_oldest_age_seconds{recipient=\"caf\"}"), 1.0);

  DeliveryCounter caf_seen;
  auto caf = stack_.Connect("caf", caf_seen.Handler());
  ASSERT_TRUE(caf.ok());
  EXPECT_EQ(WaitFor("relais_outbox_depth{recipient=\"caf\"}", 0), 0);
  const std::string after = Scrape();
  EXPECT_EQ(ValueOf(after, "relais_deliveries_total{recipient=\"caf\"}"), 3);
  EXPECT_EQ(ValueOf(after,
                    "relais_acknowledgements_total{recipient=\"caf\","
                    "outcome=\"processed\"}"),
            3);
  EXPECT_EQ(
      ValueOf(after, "relais_outbox_oldest_age_seconds{recipient=\"caf\"}"), 0);
  EXPECT_EQ(ValueOf(after, "relais_end_to_end_latency_seconds_count"), 3);
  // Every message waited at least the second above for caf.
  EXPECT_EQ(
      ValueOf(after, "relais_end_to_end_latency_seconds_bucket{le=\"1\"}"), 0);
  EXPECT_EQ(ValueOf(after, "relais_participant_online{participant=\"caf\"}"),
            1);
  EXPECT_EQ(PromtoolProblems(stack_.dir(), after), "");
}

TEST_F(MetricsTest, RefusalsAreCountedByCode) {
  RawClient raw(stack_.endpoint(), stack_.BrokerCurvePublic(),
                stack_.IdentityOf(kDesk).curve);
  raw.Send("not a frame");
  EXPECT_EQ(CodeOf(raw.Receive(seconds(10))), wire::RejectCode::MalformedFrame);
  EXPECT_EQ(WaitFor("relais_rejections_total{code=\"MalformedFrame\"}", 1), 1);
  EXPECT_EQ(Value("relais_rejections_total{code=\"BadSignature\"}"), 0);
}

TEST_F(MetricsTest, BacklogSurvivesARestart) {
  Submit("cpam");
  Submit("cpam");
  desk_.reset();
  ASSERT_EQ(stack_.StopBroker(), 0);
  std::remove(stack_.layout().MetricsFile().c_str());
  ASSERT_TRUE(stack_.StartBroker().ok()) << stack_.BrokerLog();
  ASSERT_TRUE(ReadUrl());
  // Read from the journal at start; the counters start again.
  const std::string text = Scrape();
  EXPECT_EQ(ValueOf(text, "relais_outbox_depth{recipient=\"cpam\"}"), 2);
  EXPECT_EQ(ValueOf(text, "relais_messages_accepted_total{sender=\"" +
                              std::string(kDesk) + "\"}"),
            0);
}

TEST_F(MetricsTest, AnAdapterCountsItsFoldersAndItsClient) {
  ASSERT_TRUE(stack_.StartAdapter("caf").ok());
  std::string url;
  ASSERT_TRUE(WaitUntil([&] {
    auto text = ReadFile(stack_.layout().MetricsEndpoint("caf"));
    if (!text.ok() || text->empty()) return false;
    url = text->substr(0, text->find('\n'));
    return true;
  }));
  const std::string caf = "{participant=\"caf\"}";
  // Ready (serving its folders) comes before relaisd's welcome.
  std::string text;
  EXPECT_TRUE(WaitUntil([&] {
    text = Scrape(url);
    return ValueOf(text, "relais_client_connected" + caf) == 1;
  })) << text;
  EXPECT_EQ(ValueOf(text, "relais_adapter_outbox_files" + caf), 0);
  EXPECT_EQ(PromtoolProblems(stack_.dir(), text), "");

  // A case for caf lands in its outbox; a file it cannot read is refused.
  Submit("caf");
  ASSERT_TRUE(
      WriteFileAtomic(stack_.layout().Inbox("caf") + "/bad.json", "not json")
          .ok());
  ASSERT_TRUE(WaitUntil([&] {
    text = Scrape(url);
    return ValueOf(text, "relais_client_deliveries_handled_total" + caf) == 1 &&
           ValueOf(text, "relais_adapter_rejected_files" + caf) == 2;
  })) << text;
  EXPECT_EQ(ValueOf(text, "relais_adapter_outbox_files" + caf), 1);
  EXPECT_EQ(ValueOf(text, "relais_adapter_inbox_files" + caf), 0);
  EXPECT_EQ(ValueOf(text, "relais_client_deliveries_total" + caf), 1);
  EXPECT_EQ(PromtoolProblems(stack_.dir(), text), "");
}

TEST_F(MetricsTest, OnlyGetMetricsIsServed) {
  auto other = Get("/");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  const std::string base = url_.substr(0, url_.rfind('/'));
  httplib::Client client(base);
  auto post = client.Post("/metrics", "x", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->get_header_value("Allow"), "GET");

  // A chunked body (no Content-Length) would be read whole, past the
  // server's limit: refused before its first chunk is read, while the
  // client has more to send, and the connection closed (what is unread
  // must not be taken for the next request).
  const int port = std::stoi(base.substr(base.rfind(':') + 1));
  const int fd = ConnectToLoopback(port);
  ASSERT_GE(fd, 0);
  const std::string head =
      "POST /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
      "\r\n100000\r\n";
  ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(head.size()));
  timeval wait{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
  std::string answer;
  char buffer[512];
  ssize_t got = 0;
  while ((got = ::recv(fd, buffer, sizeof(buffer), 0)) > 0) {
    answer.append(buffer, static_cast<size_t>(got));
  }
  ::close(fd);
  EXPECT_EQ(got, 0) << "the connection was left open";
  EXPECT_EQ(answer.rfind("HTTP/1.1 411 ", 0), 0u) << answer;
  EXPECT_EQ(answer.find("HTTP/1.1", 1), std::string::npos) << answer;
}

}  // namespace
}  // namespace relais::testing
