// --kv-type, shared by r1 generate / chat / serve / bench decode: one definition of the
// option, its help text and its parsing (the value lands in GeneratorOptions::kv_type or a
// KvCache constructor; see src/generate/kv_cache.h).
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "generate/kv_cache.h"

namespace r1::cli {

// Adds --kv-type NAME (default "f32") storing the name in `dst`; a value other than f32/f16
// is a CLI error naming the option.
inline CLI::Option* add_kv_type_option(CLI::App& app, std::string& dst) {
    return app
        .add_option("--kv-type", dst,
                    "KV cache storage: f32 (default: 4 bytes per value, exactly the training "
                    "forward's numbers) | f16 (half the cache memory and decode cache traffic, "
                    "values rounded to 11 significant bits; llama.cpp's default, its -ctk/-ctv f16)")
        ->capture_default_str()
        ->check(CLI::IsMember({"f32", "f16"}));
}

inline KvType kv_type_option(const std::string& name) { return kv_type_from_name(name, "--kv-type"); }

}  // namespace r1::cli
