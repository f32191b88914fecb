// Request parsing / validation for the OpenAI-compatible endpoints (see api.h for the rules).
// Every rejection names the field; the HTTP glue turns ApiError into the status + JSON body.
#include "server/api.h"

#include <cmath>
#include <limits>

namespace r1::server {

using nlohmann::json;

ApiError::ApiError(int status_, std::string message, std::string param_, std::string code_,
                   std::string type_)
    : Error(std::move(message)), status(status_), param(std::move(param_)), code(std::move(code_)) {
    type = type_.empty() ? error_type_for_status(status_) : std::move(type_);
}

std::string error_type_for_status(int status) {
    switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "invalid_request_error";
    case 429: return "rate_limit_error";
    case 503: return "server_overloaded";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

json error_body(const ApiError& e) {
    json err = {{"message", e.what()},
                {"type", e.type},
                {"param", e.param.empty() ? json(nullptr) : json(e.param)},
                {"code", e.code.empty() ? json(nullptr) : json(e.code)}};
    return json{{"error", err}};
}

namespace {

[[noreturn]] void bad(const std::string& param, const std::string& msg) {
    throw ApiError(400, msg, param);
}

const char* type_name(const json& v) {
    switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::string: return "string";
    case json::value_t::array: return "array";
    case json::value_t::object: return "object";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: return "number";
    default: return "value";
    }
}

// Nesting deeper than this is rejected before parsing: no legitimate request needs it, and
// it bounds the work any later recursive walk could do.
constexpr int kMaxDepth = 64;

json parse_body(std::string_view body) {
    int depth = 0;
    bool in_str = false, esc = false;
    for (char c : body) {
        if (in_str) {
            if (esc) esc = false;
            else if (c == '\\') esc = true;
            else if (c == '"') in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '[' || c == '{') {
            if (++depth > kMaxDepth) bad("", "request body nests deeper than 64 levels");
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded())
        bad("", "could not parse the request body as JSON (malformed JSON or invalid UTF-8)");
    if (!j.is_object()) bad("", std::string("the request body must be a JSON object, got ") + type_name(j));
    return j;
}

// The field if present and not null.
const json* field(const json& obj, const char* name) {
    auto it = obj.find(name);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
}

int64_t get_int(const json& v, const char* name, int64_t lo, int64_t hi) {
    // 5.0 is accepted as 5 (some clients serialise every number as a float)
    int64_t x = 0;
    if (v.is_number_integer()) {
        x = v.get<int64_t>();
        if (v.is_number_unsigned() && v.get<uint64_t>() > (uint64_t)std::numeric_limits<int64_t>::max())
            x = std::numeric_limits<int64_t>::max();
    } else if (v.is_number_float() && std::isfinite(v.get<double>()) &&
               v.get<double>() == std::floor(v.get<double>()) && std::fabs(v.get<double>()) < 9e15) {
        x = (int64_t)v.get<double>();
    } else {
        bad(name, std::string("'") + name + "' must be an integer, got " + type_name(v));
    }
    if (x < lo || x > hi)
        bad(name, std::string("'") + name + "' must be in [" + std::to_string(lo) + ", " +
                      std::to_string(hi) + "], got " + std::to_string(x));
    return x;
}

float get_num(const json& v, const char* name, double lo, double hi, bool lo_open = false) {
    if (!v.is_number()) bad(name, std::string("'") + name + "' must be a number, got " + type_name(v));
    const double x = v.get<double>();
    if (!std::isfinite(x) || x < lo || x > hi || (lo_open && x <= lo)) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "'%s' must be in %s%g, %g], got %g", name, lo_open ? "(" : "[",
                      lo, hi, x);
        bad(name, buf);
    }
    return (float)x;
}

bool get_bool(const json& v, const char* name) {
    if (!v.is_boolean()) bad(name, std::string("'") + name + "' must be a boolean, got " + type_name(v));
    return v.get<bool>();
}

CompletionParams parse_params(const json& j, const ApiLimits& lim, const SamplingDefaults& def) {
    CompletionParams p;
    p.temperature = def.temperature;
    p.top_p = def.top_p;
    if (const json* v = field(j, "model")) {
        if (!v->is_string()) bad("model", std::string("'model' must be a string, got ") + type_name(*v));
        p.model = v->get<std::string>();
        if (!p.model.empty() && p.model != lim.model_id)
            throw ApiError(404, "The model '" + p.model + "' does not exist; this server serves '" +
                                    lim.model_id + "' (GET /v1/models)",
                           "model", "model_not_found");
    }
    if (const json* v = field(j, "max_tokens")) p.max_tokens = get_int(*v, "max_tokens", 1, lim.max_tokens);
    if (const json* v = field(j, "max_completion_tokens"))
        p.max_tokens = get_int(*v, "max_completion_tokens", 1, lim.max_tokens);
    if (const json* v = field(j, "temperature")) p.temperature = get_num(*v, "temperature", 0, 2);
    if (const json* v = field(j, "top_p")) p.top_p = get_num(*v, "top_p", 0, 1, /*lo_open=*/true);
    if (const json* v = field(j, "frequency_penalty"))
        p.frequency_penalty = get_num(*v, "frequency_penalty", -2, 2);
    if (const json* v = field(j, "presence_penalty"))
        p.presence_penalty = get_num(*v, "presence_penalty", -2, 2);
    if (const json* v = field(j, "seed")) {
        if (v->is_number_unsigned()) p.seed = v->get<uint64_t>();
        else p.seed = (uint64_t)get_int(*v, "seed", std::numeric_limits<int64_t>::min(),
                                        std::numeric_limits<int64_t>::max());
    }
    if (const json* v = field(j, "stop")) {
        auto add = [&](const json& s) {
            if (!s.is_string()) bad("stop", std::string("'stop' must be a string or an array of strings, got ") +
                                                type_name(s) + " in it");
            std::string t = s.get<std::string>();
            if ((int64_t)t.size() > lim.max_stop_len)
                bad("stop", "a 'stop' string is longer than " + std::to_string(lim.max_stop_len) + " bytes");
            if (!t.empty()) p.stop.push_back(std::move(t));
        };
        if (v->is_string()) add(*v);
        else if (v->is_array()) {
            if ((int64_t)v->size() > lim.max_stop)
                bad("stop", "'stop' has " + std::to_string(v->size()) + " strings; at most " +
                                std::to_string(lim.max_stop) + " are allowed");
            for (const json& s : *v) add(s);
        } else {
            bad("stop", std::string("'stop' must be a string or an array of strings, got ") + type_name(*v));
        }
    }
    if (const json* v = field(j, "stream")) p.stream = get_bool(*v, "stream");
    if (const json* v = field(j, "stream_options")) {
        if (!v->is_object())
            bad("stream_options", std::string("'stream_options' must be an object, got ") + type_name(*v));
        if (const json* u = field(*v, "include_usage")) p.include_usage = get_bool(*u, "stream_options.include_usage");
    }
    if (const json* v = field(j, "n")) p.n = get_int(*v, "n", 1, lim.max_n);
    if (const json* v = field(j, "ignore_eos")) p.ignore_eos = get_bool(*v, "ignore_eos");
    if (const json* v = field(j, "reasoning_format")) {
        if (!v->is_string()) bad("reasoning_format", "'reasoning_format' must be \"deepseek\" or \"none\"");
        const std::string f = v->get<std::string>();
        if (f == "deepseek" || f == "auto") p.split_reasoning = true;
        else if (f == "none") p.split_reasoning = false;
        else bad("reasoning_format", "'reasoning_format' must be \"deepseek\" or \"none\", got \"" + f + "\"");
    }
    return p;
}

// OpenAI content: a string, or an array of parts of which only text parts are supported.
std::string message_content(const json& c, size_t i, const std::string& role) {
    const std::string where = "messages[" + std::to_string(i) + "].content";
    if (c.is_string()) return c.get<std::string>();
    if (c.is_null()) {
        if (role == "assistant" || role == "tool") return {};
        bad(where, "'" + where + "' is null; a " + role + " message needs content");
    }
    if (c.is_array()) {
        std::string out;
        for (size_t k = 0; k < c.size(); k++) {
            const json& part = c[k];
            const std::string pw = where + "[" + std::to_string(k) + "]";
            if (!part.is_object()) bad(pw, "'" + pw + "' must be an object, got " + type_name(part));
            const json* type = field(part, "type");
            if (!type || !type->is_string() || type->get<std::string>() != "text")
                bad(pw, "'" + pw + ".type' must be \"text\" (this model reads text only)");
            const json* text = field(part, "text");
            if (!text || !text->is_string()) bad(pw, "'" + pw + ".text' must be a string");
            out += text->get<std::string>();
        }
        return out;
    }
    bad(where, "'" + where + "' must be a string or an array of text parts, got " + type_name(c));
}

}  // namespace

ChatRequest parse_chat_request(std::string_view body, const ApiLimits& limits,
                               const SamplingDefaults& defaults) {
    const json j = parse_body(body);
    ChatRequest r;
    r.params = parse_params(j, limits, defaults);
    const json* msgs = field(j, "messages");
    if (!msgs) bad("messages", "'messages' is required");
    if (!msgs->is_array()) bad("messages", std::string("'messages' must be an array, got ") + type_name(*msgs));
    if (msgs->empty()) bad("messages", "'messages' must hold at least one message");
    for (size_t i = 0; i < msgs->size(); i++) {
        const json& m = (*msgs)[i];
        const std::string where = "messages[" + std::to_string(i) + "]";
        if (!m.is_object()) bad(where, "'" + where + "' must be an object, got " + type_name(m));
        const json* role = field(m, "role");
        if (!role || !role->is_string()) bad(where + ".role", "'" + where + ".role' must be a string");
        std::string rs = role->get<std::string>();
        if (rs == "developer") rs = "system";  // OpenAI's newer name for the system role
        if (rs != "system" && rs != "user" && rs != "assistant" && rs != "tool")
            bad(where + ".role", "'" + where + ".role' is \"" + role->get<std::string>() +
                                     "\"; expected system, developer, user, assistant or tool");
        const auto it = m.find("content");
        if (it == m.end()) bad(where + ".content", "'" + where + ".content' is required");
        r.messages.push_back({rs, message_content(*it, i, rs)});
    }
    return r;
}

CompletionRequest parse_completion_request(std::string_view body, const ApiLimits& limits,
                                           const SamplingDefaults& defaults) {
    const json j = parse_body(body);
    CompletionRequest r;
    r.params = parse_params(j, limits, defaults);
    const json* p = field(j, "prompt");
    if (!p) bad("prompt", "'prompt' is required");
    if (p->is_string()) r.prompt = p->get<std::string>();
    else if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) r.prompt = (*p)[0].get<std::string>();
    else bad("prompt", std::string("'prompt' must be a string (or an array of one string), got ") + type_name(*p));
    if (r.prompt.empty()) bad("prompt", "'prompt' is empty");
    return r;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    // Always walks the longer length; the result folds every byte difference and the
    // length difference, so no early exit leaks the position of the first mismatch.
    const size_t n = a.size() > b.size() ? a.size() : b.size();
    unsigned diff = (unsigned)(a.size() ^ b.size());
    for (size_t i = 0; i < n; i++) {
        const unsigned char x = i < a.size() ? (unsigned char)a[i] : 0;
        const unsigned char y = i < b.size() ? (unsigned char)b[i] : 0;
        diff |= (unsigned)(x ^ y);
    }
    volatile unsigned sink = diff;  // keep the compiler from turning the loop into a memcmp
    return sink == 0;
}

bool authorized(std::string_view header, std::string_view key) {
    if (key.empty()) return true;
    constexpr std::string_view scheme = "bearer ";
    if (header.size() < scheme.size()) return false;
    for (size_t i = 0; i < scheme.size(); i++)
        if ((char)std::tolower((unsigned char)header[i]) != scheme[i]) return false;
    std::string_view presented = header.substr(scheme.size());
    while (!presented.empty() && presented.front() == ' ') presented.remove_prefix(1);
    while (!presented.empty() && (presented.back() == ' ' || presented.back() == '\r')) presented.remove_suffix(1);
    return constant_time_equal(presented, key);
}

}  // namespace r1::server
