// StopMatcher (see stop.h). pending_ holds the text not yet emitted; between pushes it is the
// longest suffix of the stream that is a proper prefix of some stop string, so any stop string
// that will ever occur starts inside pending_ and the earlier text is final.
#include "generate/stop.h"

#include <algorithm>

namespace r1 {

StopMatcher::StopMatcher(std::vector<std::string> stops) {
    for (size_t i = 0; i < stops.size(); i++) {
        if (stops[i].empty()) continue;
        stops_.push_back(std::move(stops[i]));
        index_.push_back((int)i);
    }
}

StopResult StopMatcher::push(std::string_view piece) {
    StopResult out;
    if (stopped()) {
        out.stopped = true;
        out.stop_index = stop_index_;
        return out;
    }
    pending_.append(piece);

    // Earliest occurrence of any stop string; on a tie the one listed first.
    size_t best_pos = std::string::npos;
    int best = -1;
    for (size_t i = 0; i < stops_.size(); i++) {
        size_t pos = pending_.find(stops_[i]);
        if (pos < best_pos) best_pos = pos, best = (int)i;
    }
    if (best >= 0) {
        out.text = pending_.substr(0, best_pos);
        out.stopped = true;
        out.stop_index = stop_index_ = index_[best];
        pending_.clear();
        return out;
    }

    // Hold back the longest suffix that is a proper prefix of some stop string.
    size_t hold = 0;
    for (const std::string& s : stops_) {
        size_t max_k = std::min(pending_.size(), s.size() - 1);
        for (size_t k = max_k; k > hold; k--) {
            if (pending_.compare(pending_.size() - k, k, s, 0, k) == 0) {
                hold = k;
                break;
            }
        }
    }
    out.text = pending_.substr(0, pending_.size() - hold);
    pending_.erase(0, pending_.size() - hold);
    return out;
}

std::string StopMatcher::flush() {
    std::string out;
    out.swap(pending_);
    return out;
}

void StopMatcher::reset() {
    pending_.clear();
    stop_index_ = -1;
}

}  // namespace r1
