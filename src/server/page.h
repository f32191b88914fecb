// The chat page served at GET / by `r1 serve`: one self-contained HTML file (inline CSS and
// JS, no build step, no external requests) embedded in the binary. It streams answers from
// /v1/chat/completions (SSE over fetch), shows reasoning_content in a collapsible <details>
// block above the answer, keeps the conversation (earlier answers are sent back without their
// reasoning, as the R1 template wants) and stores an optional API key in localStorage.
#pragma once
#include <string_view>

namespace r1::server {

std::string_view chat_page_html();

}  // namespace r1::server
