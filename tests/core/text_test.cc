#include "core/text.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/log.h"
#include "core/toml_file.h"

namespace relais {
namespace {

TEST(TextTest, Utf8IsCheckedAsRfc3629Says) {
  const std::string good = "Marché, Łódź, 日本, 🙂";
  EXPECT_EQ(InvalidUtf8At(good), good.size());
  EXPECT_EQ(InvalidUtf8At("ab\xE9"
                          "cd"),
            2u);                                         // Latin-1 é
  EXPECT_EQ(InvalidUtf8At("\xC0\xAF"), 0u);              // overlong '/'
  EXPECT_EQ(InvalidUtf8At("x\xED\xA0\x80"), 1u);         // a surrogate
  EXPECT_EQ(InvalidUtf8At("\xF4\x90\x80\x80"), 0u);      // above U+10FFFF
  EXPECT_EQ(InvalidUtf8At("ok\xE2\x82"), 2u);            // cut short
  EXPECT_EQ(InvalidUtf8At(std::string("a\0b", 3)), 3u);  // NUL is UTF-8
}

TEST(TextTest, CleanTextHasNoControlCharacters) {
  EXPECT_TRUE(IsCleanText("relais-sdk/0.1 (Debian 12)"));
  EXPECT_FALSE(IsCleanText("two\nlines"));
  EXPECT_TRUE(IsCleanText("two\nlines", /*allow_newlines=*/true));
  EXPECT_FALSE(IsCleanText(std::string("nul\0", 4), true));
  EXPECT_FALSE(IsCleanText("esc\x1b[31m"));
  EXPECT_FALSE(IsCleanText("c1 \xC2\x85 next line"));
  EXPECT_FALSE(IsCleanText("del\x7f"));
  EXPECT_FALSE(IsCleanText("latin1 \xE9"));
}

TEST(TextTest, WireTextNamesTheFieldAndPlaceNeverTheBytes) {
  EXPECT_TRUE(CheckWireText("Hello.software", "relais-sdk/0.1", 128).ok());
  Status st = CheckWireText("Hello.software", "evil\ninjected", 128);
  EXPECT_EQ(st.reject_code(), wire::RejectCode::MalformedFrame);
  EXPECT_EQ(st.message(), "Hello.software: a control character at byte 4");
  st = CheckWireText("DeliveryAck.reason", "caf\xE9", 128);
  EXPECT_EQ(st.message(), "DeliveryAck.reason: not UTF-8 at byte 3");
  st = CheckWireText("DeliveryAck.reason", std::string(129, 'a'), 128);
  EXPECT_EQ(st.message(), "DeliveryAck.reason: 129 bytes, at most 128");
}

TEST(TextTest, EscapedTextIsOneLine) {
  EXPECT_EQ(Escaped("plain é"), "plain é");
  EXPECT_EQ(Escaped("a\nb\r\tc\\d"), "a\\nb\\r\\tc\\\\d");
  EXPECT_EQ(Escaped(std::string("\x1b[2J\0\xE9", 6)), "\\x1B[2J\\x00\\xE9");
  EXPECT_EQ(Escaped("\xC2\x85"), "\\xC2\\x85");
  EXPECT_EQ(Escaped("abcdef", 3), "abc...");
  // A multi-byte character cut by the limit is shown as bytes.
  EXPECT_EQ(Escaped("é", 1), "\\xC3...");
}

TEST(TextTest, EscapedTextShowsWhatReordersOrBreaksALine) {
  // U+202E (right-to-left override) would show "invoice.pdf" for this name.
  EXPECT_EQ(Escaped("invoice\xE2\x80\xAE"
                    "fdp.exe"),
            "invoice\\u202Efdp.exe");
  EXPECT_EQ(Escaped("\xD8\x9C\xE2\x80\x8E\xE2\x80\x8F"),
            "\\u061C\\u200E\\u200F");
  EXPECT_EQ(Escaped("a\xE2\x80\xA8"
                    "b\xE2\x80\xA9"
                    "c"),
            "a\\u2028b\\u2029c");
  EXPECT_EQ(Escaped("\xE2\x81\xA6x\xE2\x81\xA9"), "\\u2066x\\u2069");
  // Their neighbours, and right-to-left text itself, are kept: U+061B,
  // U+200D, U+2027, U+2065 below each range, U+202F, U+206A above.
  EXPECT_EQ(Escaped("\xD8\x9B \xE2\x80\x8D \xE2\x80\xA7 \xE2\x81\xA5"),
            "\xD8\x9B \xE2\x80\x8D \xE2\x80\xA7 \xE2\x81\xA5");
  EXPECT_EQ(Escaped("\xE2\x80\x94 \xE2\x80\xAF \xE2\x81\xAA \xD7\xA9\xD7\x9C"),
            "\xE2\x80\x94 \xE2\x80\xAF \xE2\x81\xAA \xD7\xA9\xD7\x9C");
}

TEST(LogTest, JsonLinesEscapeWhatReordersALineToo) {
  ASSERT_TRUE(SetUpLog("log_test", "info", "json").ok());
  ::testing::internal::CaptureStderr();
  spdlog::info("took {}",
               "facture\xE2\x80\xAE"
               "fdp.exe");
  spdlog::default_logger()->flush();
  const std::string out = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(SetUpLog("log_test", "info").ok());
  const auto line = nlohmann::json::parse(out, nullptr, false);
  ASSERT_TRUE(line.is_object()) << out;
  EXPECT_EQ(line.value("message", ""), "took facture\\u202Efdp.exe") << out;
}

TEST(LogTest, LevelsByNameAndNoTypoTurnsLoggingOff) {
  EXPECT_EQ(*ParseLogLevel("warn"), spdlog::level::warn);
  EXPECT_EQ(*ParseLogLevel("warning"), spdlog::level::warn);
  EXPECT_EQ(*ParseLogLevel("off"), spdlog::level::off);
  auto bad = ParseLogLevel("verbose");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "log level 'verbose' is not one of trace, debug, info, warn, "
            "error, critical, off");
  EXPECT_FALSE(SetUpLog("test", "inof").ok());
}

TEST(LogTest, OneEventIsOneLineWhateverItHolds) {
  ASSERT_TRUE(SetUpLog("log_test", "info").ok());
  ::testing::internal::CaptureStderr();
  spdlog::info("software {}", "x\n2026-11-28T00:00:00.000 critical forged");
  spdlog::info("took {}",
               "facture\xE2\x80\xAE"
               "fdp.exe");
  spdlog::default_logger()->flush();
  const std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
  EXPECT_NE(out.find("log_test: software x\\n2026-11-28T00:00:00.000 critical "
                     "forged"),
            std::string::npos)
      << out;
  // A file name that would show as "factureexe.pdf".
  EXPECT_NE(out.find("log_test: took facture\\u202Efdp.exe"), std::string::npos)
      << out;
}

TEST(TextTest, CleanTextFitsAWireFieldAndKeepsWhatItCan) {
  EXPECT_EQ(CleanText("refused:\nline 2\tx", 1024), "refused: line 2 x");
  EXPECT_EQ(CleanText("caf\xFF!", 1024), "caf\xEF\xBF\xBD!");
  // Cut at a character boundary: "é" is two bytes.
  EXPECT_EQ(CleanText("ab\xC3\xA9", 3), "ab");
  const std::string cleaned = CleanText(std::string(5000, 'x') + "\x01", 1024);
  EXPECT_EQ(cleaned.size(), 1024u);
  EXPECT_TRUE(CheckWireText("reason", CleanText("a\x01\xC3", 1024), 1024).ok());
}

TEST(TomlTest, KnownKeysAndTypesArePlaced) {
  auto t = ParseToml("a = 1\nb = \"x\"\nc = true\n", "f.toml");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(CheckKnownKeys(*t, {"a", "b", "c"}, "f.toml", "[x]").ok());
  Status st = CheckKnownKeys(*t, {"a", "b"}, "f.toml", "[x]");
  EXPECT_EQ(st.message(), "f.toml:3:1: unknown key 'c' in [x] (known: a, b)");
  EXPECT_EQ(*StringAt(*t, "b", "d", "f.toml"), "x");
  EXPECT_EQ(*StringAt(*t, "z", "d", "f.toml"), "d");
  EXPECT_EQ(StringAt(*t, "a", "d", "f.toml").status().message(),
            "f.toml:1:5: 'a' must be a string");
  EXPECT_EQ(*IntegerAt(*t, "a", 7, 0, 10, "f.toml"), 1);
  EXPECT_EQ(*IntegerAt(*t, "z", 7, 0, 10, "f.toml"), 7);
  EXPECT_EQ(IntegerAt(*t, "a", 7, 2, 10, "f.toml").status().message(),
            "f.toml:1:5: 'a' must be an integer from 2 to 10");
  EXPECT_FALSE(IntegerAt(*t, "b", 7, 0, 10, "f.toml").ok());
}

}  // namespace
}  // namespace relais
