#include "core/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/metrics_http.h"

namespace relais::metrics {
namespace {

TEST(MetricsText, FamiliesLabelsAndEscapes) {
  TextWriter w;
  w.Family("relais_x_total", "Things\\counted,\nby kind.",
           TextWriter::Type::kCounter);
  w.Sample({{"kind", "a\"b\\c\nd"}, {"other", "é"}}, uint64_t{7});
  w.Family("relais_y", "A level.", TextWriter::Type::kGauge);
  w.Sample({}, int64_t{-3});
  w.Sample({{"k", "v"}}, 0.25);
  EXPECT_EQ(w.text(),
            "# HELP relais_x_total Things\\\\counted,\\nby kind.\n"
            "# TYPE relais_x_total counter\n"
            "relais_x_total{kind=\"a\\\"b\\\\c\\nd\",other=\"é\"} 7\n"
            "# HELP relais_y A level.\n"
            "# TYPE relais_y gauge\n"
            "relais_y -3\n"
            "relais_y{k=\"v\"} 0.25\n");
}

TEST(MetricsText, ValuesAsTheFormatWritesThem) {
  EXPECT_EQ(FormatValue(1), "1");
  EXPECT_EQ(FormatValue(-2), "-2");
  EXPECT_EQ(FormatValue(0.001), "0.001");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
  EXPECT_EQ(FormatValue(1e20), "1e+20");
}

TEST(MetricsHistogram, CumulativeBucketsSumAndCount) {
  Histogram h({1, 2, 4});
  for (double v : {0.5, 1.0, 1.5, 3.0, 9.0}) h.Observe(v);
  const auto s = h.Take();
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{2, 3, 4, 5}));
  EXPECT_EQ(s.count, 5u);
  EXPECT_DOUBLE_EQ(s.sum, 15.0);
  TextWriter w;
  w.Family("relais_h", "Some.", TextWriter::Type::kHistogram);
  w.Histogram({{"a", "b"}}, s);
  EXPECT_EQ(w.text(),
            "# HELP relais_h Some.\n# TYPE relais_h histogram\n"
            "relais_h_bucket{a=\"b\",le=\"1\"} 2\n"
            "relais_h_bucket{a=\"b\",le=\"2\"} 3\n"
            "relais_h_bucket{a=\"b\",le=\"4\"} 4\n"
            "relais_h_bucket{a=\"b\",le=\"+Inf\"} 5\n"
            "relais_h_sum{a=\"b\"} 15\n"
            "relais_h_count{a=\"b\"} 5\n");
}

TEST(MetricsHistogram, QuantilesInterpolateInsideTheirBucket) {
  Histogram h({1, 2, 4});
  EXPECT_EQ(h.Take().Quantile(0.5), 0);  // nothing observed
  for (int i = 0; i < 50; ++i) h.Observe(0.5);
  for (int i = 0; i < 50; ++i) h.Observe(1.5);
  const auto s = h.Take();
  EXPECT_DOUBLE_EQ(s.Quantile(0.5), 1.0);
  EXPECT_DOUBLE_EQ(s.Quantile(0.99), 1.98);
  EXPECT_DOUBLE_EQ(s.Quantile(0.25), 0.5);
  h.Observe(100);  // in +Inf: the largest bound
  EXPECT_DOUBLE_EQ(h.Take().Quantile(0.999), 4.0);
}

TEST(MetricsProcess, FiguresFromProc) {
  TextWriter w;
  WriteProcessMetrics(w);
  const std::string& t = w.text();
  for (const char* name :
       {"relais_process_resident_memory_bytes ",
        "relais_process_cpu_seconds_total ",
        "relais_process_start_time_seconds ", "relais_process_open_fds "}) {
    const size_t at = t.find(std::string("\n") + name);
    ASSERT_NE(at, std::string::npos) << name;
    const double v = std::stod(t.substr(at + 1 + std::string(name).size()));
    EXPECT_GT(v, 0) << name;
  }
}

TEST(MetricsListen, AddressesCheckedAndNamed) {
  auto v4 = ParseListenAddress("k", "127.0.0.1:9100");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->first, "127.0.0.1");
  EXPECT_EQ(v4->second, 9100);
  auto v6 = ParseListenAddress("k", "[::1]:0");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->first, "::1");
  EXPECT_EQ(v6->second, 0);
  for (const char* bad :
       {"localhost:80", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536",
        "127.0.0.1:-1", "127.0.0.1:80x", "[::1:80", "::1:80", "1.2.3:80"}) {
    auto r = ParseListenAddress("[broker] metrics_listen", bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message().rfind("[broker] metrics_listen '", 0), 0u)
        << r.status().message();
  }
  // What a person typed is repeated escaped, never raw.
  auto r = ParseListenAddress("k", "a\nb:1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find('\n'), std::string::npos);
}

TEST(MetricsUrl, SplitIntoServerAndPath) {
  std::string server, path;
  ASSERT_TRUE(SplitHttpUrl("http://127.0.0.1:7701/metrics", &server, &path));
  EXPECT_EQ(server, "http://127.0.0.1:7701");
  EXPECT_EQ(path, "/metrics");
  for (const char* bad : {"https://127.0.0.1:7701/metrics",
                          "http://127.0.0.1:7701", "http:///metrics", ""}) {
    EXPECT_FALSE(SplitHttpUrl(bad, &server, &path)) << bad;
  }
}

}  // namespace
}  // namespace relais::metrics
