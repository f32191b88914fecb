// SyntheticOptions::careless_phrases: one phrasing makes every careless line open the same
// way (so the style mix, not the phrase count, decides what a greedy base does); the default
// keeps all five; out-of-range values are rejected.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/error.h"
#include "train/synthetic.h"

TEST(TrainSynthetic, CarelessPhrasesOption) {
    r1::SyntheticOptions one;
    one.p_careful = 0, one.p_check = 0, one.p_careless = 1;
    one.careless_phrases = 1;
    r1::SyntheticOptions all = one;
    all.careless_phrases = 5;
    std::set<std::string> openings_all;
    for (uint64_t i = 0; i < 200; i++) {
        const auto a = r1::train_example(3, i, one);
        EXPECT_EQ(a.completion.rfind("Quick: ", 0), 0u) << a.completion;
        const auto b = r1::train_example(3, i, all);
        // the five phrasings: "Quick:", "Easy,", "I think", "Off the top", "{e}={r}, done."
        const char c0 = b.completion[0];
        openings_all.insert(c0 >= '0' && c0 <= '9' ? "digits" : b.completion.substr(0, 3));
    }
    EXPECT_EQ(openings_all.size(), 5u);
    one.careless_phrases = 0;
    EXPECT_THROW(one.validate(), r1::Error);
    one.careless_phrases = 6;
    EXPECT_THROW(one.validate(), r1::Error);
}
