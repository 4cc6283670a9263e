// Document splitting and labelled-set reading.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "data/corpus.h"

namespace fs = std::filesystem;
using namespace ranklab;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

fs::path writeFile(const std::string& name, const std::string& content) {
  auto dir = fs::temp_directory_path() / ("ranklab_data_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << content;
  return dir / name;
}

TEST(Corpus, SplitsDocumentsStripsAndDropsEmpty) {
  EXPECT_THAT(
      data::splitDocuments("  one \n<|endoftext|>\n two<|endoftext|>  \n<|endoftext|>three", "<|endoftext|>"),
      ElementsAre("one", "two", "three"));
  EXPECT_THAT(data::splitDocuments("\n just one \n", ""), ElementsAre("just one"));
  EXPECT_TRUE(data::splitDocuments(" \n ", "<|endoftext|>").empty());
}

TEST(Corpus, ReadsTsvWithHeaderPairsAndLabelNames) {
  auto f = writeFile("set.tsv", "sentence\tlabel\ngood film\tpositive\nbad film\t0\n");
  auto ex = data::readLabelled(f, {"negative", "positive"});
  ASSERT_EQ(ex.size(), 2u);
  EXPECT_EQ(ex[0].text, "good film");
  EXPECT_EQ(ex[0].label, 1);
  EXPECT_EQ(ex[1].label, 0);
  auto pairs = data::readLabelled(writeFile("pairs.tsv", "a cat\ta dog\t2\r\n"), {});
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].textPair, "a dog");
  EXPECT_EQ(pairs[0].label, 2);
}

// Label names: labels.txt next to the data wins; else the integers up to the largest; else the
// distinct names, sorted; fewer than two is an error naming the file.
TEST(Corpus, LabelNamesComeFromTheLabelFileTheIntegersOrTheNames) {
  EXPECT_THAT(data::labelNames({}, writeFile("ints.tsv", "a\t0\nb\t3\n")), ElementsAre("0", "1", "2", "3"));
  EXPECT_THAT(data::labelNames({}, writeFile("names.jsonl",
                                             "{\"text\": \"a\", \"label\": \"spam\"}\n"
                                             "{\"text\": \"b\", \"label\": \"ham\"}\n")),
              ElementsAre("ham", "spam"));
  const auto sub = fs::temp_directory_path() / ("ranklab_data_" + std::to_string(::getpid())) / "task";
  fs::create_directories(sub);
  std::ofstream(sub / "labels.txt") << "zero\none\n";
  std::ofstream(sub / "set.tsv") << "a\tone\n";
  EXPECT_THAT(data::labelNames({}, sub / "set.tsv"), ElementsAre("zero", "one"));
  try {
    data::labelNames({}, writeFile("single.tsv", "a\tonly\n"));
    FAIL() << "one label was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("single.tsv"));
  }
}

TEST(Corpus, ReadsJsonl) {
  auto f = writeFile("set.jsonl",
                     "{\"text\": \"hello\", \"label\": 1}\n\n{\"sentence1\": \"a\", \"sentence2\": \"b\", "
                     "\"label\": \"yes\"}\n");
  auto ex = data::readLabelled(f, {"no", "yes"});
  ASSERT_EQ(ex.size(), 2u);
  EXPECT_EQ(ex[0].label, 1);
  EXPECT_EQ(ex[1].text, "a");
  EXPECT_EQ(ex[1].textPair, "b");
  EXPECT_EQ(ex[1].label, 1);
}

TEST(Corpus, BadInputNamesFileAndLine) {
  auto expectError = [](const fs::path& f, const std::vector<std::string>& labels,
                        const std::string& needle) {
    try {
      data::readLabelled(f, labels);
      ADD_FAILURE() << "no error for " << f;
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr(f.filename().string()));
      EXPECT_THAT(e.what(), HasSubstr(needle));
    }
  };
  expectError(writeFile("unknown_label.tsv", "ok\t0\nfine\tmaybe\n"), {"no", "yes"}, ":2: label 'maybe'");
  expectError(writeFile("out_of_range.tsv", "x\t5\n"), {"no", "yes"}, "label '5'");
  expectError(writeFile("bad.jsonl", "{\"text\": \"x\", \"label\": 0}\n{not json\n"), {},
              ":2: not valid JSON");
  expectError(writeFile("nolabel.jsonl", "{\"text\": \"x\"}\n"), {}, "no \"label\"");
  expectError(writeFile("fields.tsv", "just text\n"), {}, "found 1 field");
  expectError(writeFile("empty.tsv", "\n\n"), {}, "no labelled examples");
  EXPECT_THROW(data::readTextFile("/nonexistent/ranklab.txt"), Error);
}

}  // namespace
