// Loading Hugging Face checkpoints into r1's flat parameters: the HF <-> r1 tensor name map,
// FP8 E4M3 block dequantisation, single-file and sharded safetensors, and the validation
// that makes a bad folder an error naming the file and tensor (see hf_checkpoint.h).
#include "io/hf_checkpoint.h"

#include <sys/stat.h>

#include <array>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/progress.h"
#include "core/threads.h"

namespace r1 {

// ---------------------------------------------------------------- names

std::vector<HfTensorName> hf_tensor_names(const ModelConfig& c) {
    std::vector<HfTensorName> out;
    auto add = [&](std::string hf, std::string r, int64_t e = -1) {
        out.push_back({std::move(hf), std::move(r), e});
    };
    add("model.embed_tokens.weight", "token_embd.weight");
    for (int64_t il = 0; il < c.n_layer; il++) {
        const std::string h = "model.layers." + std::to_string(il) + ".";
        const std::string b = "blk." + std::to_string(il) + ".";
        add(h + "input_layernorm.weight", b + "attn_norm.weight");
        if (c.attn == AttnKind::gqa) {
            for (const char* p : {"q", "k", "v"}) {
                add(h + "self_attn." + p + "_proj.weight", b + "attn_" + p + ".weight");
                if (c.qkv_bias) add(h + "self_attn." + p + "_proj.bias", b + "attn_" + p + ".bias");
            }
        } else {
            if (c.q_lora_rank == 0) {
                add(h + "self_attn.q_proj.weight", b + "attn_q.weight");
            } else {
                add(h + "self_attn.q_a_proj.weight", b + "attn_q_a.weight");
                add(h + "self_attn.q_a_layernorm.weight", b + "attn_q_a_norm.weight");
                add(h + "self_attn.q_b_proj.weight", b + "attn_q_b.weight");
            }
            add(h + "self_attn.kv_a_proj_with_mqa.weight", b + "attn_kv_a_mqa.weight");
            add(h + "self_attn.kv_a_layernorm.weight", b + "attn_kv_a_norm.weight");
            add(h + "self_attn.kv_b_proj.weight", b + "attn_kv_b.weight");
        }
        add(h + "self_attn.o_proj.weight", b + "attn_output.weight");
        add(h + "post_attention_layernorm.weight", b + "ffn_norm.weight");
        if (!c.is_moe_layer(il)) {
            add(h + "mlp.gate_proj.weight", b + "ffn_gate.weight");
            add(h + "mlp.up_proj.weight", b + "ffn_up.weight");
            add(h + "mlp.down_proj.weight", b + "ffn_down.weight");
        } else {
            add(h + "mlp.gate.weight", b + "ffn_gate_inp.weight");
            if (c.expert_sel_bias) add(h + "mlp.gate.e_score_correction_bias", b + "exp_probs_b.bias");
            for (int64_t e = 0; e < c.n_expert; e++) {
                const std::string x = h + "mlp.experts." + std::to_string(e) + ".";
                add(x + "gate_proj.weight", b + "ffn_gate_exps.weight", e);
                add(x + "up_proj.weight", b + "ffn_up_exps.weight", e);
                add(x + "down_proj.weight", b + "ffn_down_exps.weight", e);
            }
            if (c.n_expert_shared > 0) {
                add(h + "mlp.shared_experts.gate_proj.weight", b + "ffn_gate_shexp.weight");
                add(h + "mlp.shared_experts.up_proj.weight", b + "ffn_up_shexp.weight");
                add(h + "mlp.shared_experts.down_proj.weight", b + "ffn_down_shexp.weight");
            }
        }
    }
    add("model.norm.weight", "output_norm.weight");
    if (!c.tie_embeddings) add("lm_head.weight", "output.weight");
    return out;
}

// ---------------------------------------------------------------- fp8

float fp8_e4m3_to_f32(uint8_t v) {
    const int sign = v >> 7, exp = (v >> 3) & 0xF, man = v & 0x7;
    float mag;
    if (exp == 0xF && man == 0x7) return std::numeric_limits<float>::quiet_NaN();
    if (exp == 0) mag = std::ldexp((float)man, -9);            // subnormal: man/8 * 2^-6
    else mag = std::ldexp(1.0f + (float)man / 8.0f, exp - 7);  // bias 7
    return sign ? -mag : mag;
}

namespace {
const std::array<float, 256>& fp8_table() {
    static const std::array<float, 256> t = [] {
        std::array<float, 256> a{};
        for (int i = 0; i < 256; i++) a[(size_t)i] = fp8_e4m3_to_f32((uint8_t)i);
        return a;
    }();
    return t;
}
void check_fp8_args(int64_t rows, int64_t cols, int64_t br, int64_t bc) {
    R1_CHECK(rows >= 0 && cols >= 0 && br > 0 && bc > 0, "[fp8] bad dequant shape rows=", rows,
             " cols=", cols, " block=", br, "x", bc);
}
}  // namespace

namespace ref {
void dequant_fp8_blocks(float* dst, const uint8_t* q, const float* scale_inv, int64_t rows,
                        int64_t cols, int64_t br, int64_t bc) {
    check_fp8_args(rows, cols, br, bc);
    const int64_t sc = (cols + bc - 1) / bc;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            dst[r * cols + c] = fp8_e4m3_to_f32(q[r * cols + c]) * scale_inv[(r / br) * sc + c / bc];
}
}  // namespace ref

void dequant_fp8_blocks(float* dst, const uint8_t* q, const float* scale_inv, int64_t rows,
                        int64_t cols, int64_t br, int64_t bc) {
    check_fp8_args(rows, cols, br, bc);
    const float* tab = fp8_table().data();
    const int64_t sc = (cols + bc - 1) / bc;
    parallel_for(rows, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; r++) {
            const float* s = scale_inv + (r / br) * sc;  // [sc]
            const uint8_t* qr = q + r * cols;
            float* d = dst + r * cols;
            for (int64_t cb = 0; cb < sc; cb++) {
                const float f = s[cb];
                const int64_t c1 = std::min(cols, (cb + 1) * bc);
                for (int64_t c = cb * bc; c < c1; c++) d[c] = tab[qr[c]] * f;
            }
        }
    }, std::max<int64_t>(1, 65536 / std::max<int64_t>(cols, 1)));
}

// ---------------------------------------------------------------- loading

bool is_hf_dir(const std::string& dir) {
    struct stat st {};
    return ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
           ::stat((dir + "/config.json").c_str(), &st) == 0;
}

namespace {

bool file_exists(const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string shape_str(const std::vector<int64_t>& s) {
    std::string o = "[";
    for (size_t i = 0; i < s.size(); i++) o += (i ? ", " : "") + std::to_string(s[i]);
    return o + "]";
}

// "model.layers.61.xxx" -> 61, else -1.
int64_t layer_of(const std::string& name) {
    static const std::string p = "model.layers.";
    if (name.compare(0, p.size(), p) != 0) return -1;
    int64_t v = 0;
    size_t i = p.size();
    if (i >= name.size() || !std::isdigit((unsigned char)name[i])) return -1;
    for (; i < name.size() && std::isdigit((unsigned char)name[i]); i++) {
        v = v * 10 + (name[i] - '0');
        if (v > (1 << 20)) return -1;
    }
    return i < name.size() && name[i] == '.' ? v : -1;
}

bool ends_with(const std::string& s, const std::string& suf) {
    return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

struct Located {
    const SafetensorsReader* file;
    const StTensor* t;
};

}  // namespace

std::unique_ptr<HfModel> load_hf_checkpoint(const std::string& dir, bool progress) {
    auto m = std::make_unique<HfModel>();
    m->dir = dir;
    R1_CHECK(is_hf_dir(dir), "[hf] ", dir, ": not a Hugging Face checkpoint folder (no config.json)");
    m->config = load_hf_config(dir + "/config.json", &m->info);
    const ModelConfig& cfg = m->config;

    // --- files
    std::vector<std::unique_ptr<SafetensorsReader>> files;
    std::map<std::string, std::string> weight_map;  // tensor -> shard (sharded only)
    const std::string index_path = dir + "/model.safetensors.index.json";
    if (file_exists(index_path)) {
        nlohmann::json idx;
        try {
            std::ifstream f(index_path);
            idx = nlohmann::json::parse(f);
        } catch (const nlohmann::json::exception& e) {
            fail("[hf] ", index_path, ": bad JSON: ", e.what());
        }
        R1_CHECK(idx.is_object() && idx.contains("weight_map") && idx["weight_map"].is_object(),
                 "[hf] ", index_path, ": missing object 'weight_map'");
        std::set<std::string> shard_names;
        for (auto it = idx["weight_map"].begin(); it != idx["weight_map"].end(); ++it) {
            R1_CHECK(it.value().is_string(), "[hf] ", index_path, ": weight_map['", it.key(),
                     "'] is not a file name");
            const std::string fn = it.value().get<std::string>();
            R1_CHECK(!fn.empty() && fn.find('/') == std::string::npos && fn[0] != '.', "[hf] ",
                     index_path, ": weight_map['", it.key(), "'] = '", fn,
                     "' is not a file name inside the folder");
            weight_map[it.key()] = fn;
            shard_names.insert(fn);
        }
        R1_CHECK(!shard_names.empty(), "[hf] ", index_path, ": weight_map is empty");
        for (const auto& fn : shard_names)
            files.push_back(std::make_unique<SafetensorsReader>(dir + "/" + fn));
    } else {
        const std::string single = dir + "/model.safetensors";
        R1_CHECK(file_exists(single), "[hf] ", dir,
                 ": no model.safetensors or model.safetensors.index.json");
        files.push_back(std::make_unique<SafetensorsReader>(single));
    }
    m->n_files = (int64_t)files.size();

    std::map<std::string, Located> all;
    for (const auto& f : files)
        for (const StTensor& t : f->tensors()) {
            auto [it, fresh] = all.emplace(t.name, Located{f.get(), &t});
            R1_CHECK(fresh, "[hf] ", dir, ": tensor '", t.name, "' is in both ",
                     it->second.file->path(), " and ", f->path());
            if (!weight_map.empty()) {
                auto w = weight_map.find(t.name);
                R1_CHECK(w != weight_map.end() && f->path() == dir + "/" + w->second, "[hf] ",
                         f->path(), ": tensor '", t.name,
                         "' is not listed for this file in model.safetensors.index.json");
            }
        }
    for (const auto& [name, fn] : weight_map)
        R1_CHECK(all.count(name), "[hf] ", dir + "/" + fn, ": tensor '", name,
                 "' listed in model.safetensors.index.json is not in the file");

    // --- fill the parameters
    m->params = ParamSet(cfg);
    ParamSet& ps = m->params;
    std::set<std::string> consumed;
    std::vector<float> scale;
    const std::vector<HfTensorName> names = hf_tensor_names(cfg);
    Progress bar("load " + dir, (int64_t)names.size(), "tensors", progress);
    int64_t done = 0;
    for (const HfTensorName& n : names) {
        bar.update(done++);
        auto it = all.find(n.hf);
        R1_CHECK(it != all.end(), "[hf] ", dir, ": missing tensor '", n.hf, "' (",
                 files.size() == 1 ? files[0]->path() : index_path, ")");
        const SafetensorsReader& f = *it->second.file;
        const StTensor& t = *it->second.t;
        consumed.insert(n.hf);
        const ParamInfo& pi = ps.info(n.r1);
        std::vector<int64_t> want = pi.shape;
        int64_t numel = pi.numel;
        float* dst = ps.data().data() + pi.offset;
        if (n.expert >= 0) {
            want.erase(want.begin());
            numel /= pi.shape[0];
            dst += n.expert * numel;
        }
        const std::string tw = "[hf] " + f.path() + ": tensor '" + n.hf + "': ";
        R1_CHECK(t.shape == want, tw, "shape ", shape_str(t.shape), ", expected ", shape_str(want),
                 " from config.json");
        if (t.dtype == StDType::F8_E4M3) {
            R1_CHECK(want.size() == 2 && ends_with(n.hf, ".weight"), tw,
                     "FP8 is only supported for matrices");
            const std::string sn = n.hf + "_scale_inv";
            auto s = all.find(sn);
            R1_CHECK(s != all.end(), tw, "dtype F8_E4M3 needs '", sn, "' (block scales)");
            consumed.insert(sn);
            const int64_t br = m->info.fp8_block_rows, bc = m->info.fp8_block_cols;
            const std::vector<int64_t> sw = {(want[0] + br - 1) / br, (want[1] + bc - 1) / bc};
            R1_CHECK(s->second.t->shape == sw, "[hf] ", s->second.file->path(), ": tensor '", sn,
                     "': shape ", shape_str(s->second.t->shape), ", expected ", shape_str(sw),
                     " (blocks of ", br, "x", bc, ")");
            scale = s->second.file->read_f32(sn);
            dequant_fp8_blocks(dst, f.data(t), scale.data(), want[0], want[1], br, bc);
        } else {
            R1_CHECK(t.dtype == StDType::F32 || t.dtype == StDType::F16 ||
                         t.dtype == StDType::BF16,
                     tw, "dtype ", st_dtype_name(t.dtype), " is not supported (F32, F16, BF16, F8_E4M3)");
            f.read_f32_into(n.hf, dst, numel);
        }
    }
    bar.update(done);
    bar.finish();
    // --- what is left must be skippable
    for (const auto& [name, loc] : all) {
        if (consumed.count(name)) continue;
        const int64_t il = layer_of(name);
        bool skip = false;
        if (il >= cfg.n_layer) {
            R1_CHECK(il < cfg.n_layer + m->info.n_nextn_layers, "[hf] ", loc.file->path(),
                     ": tensor '", name, "' belongs to layer ", il, " but config.json has ",
                     cfg.n_layer, " layers (+", m->info.n_nextn_layers, " MTP)");
            skip = true;  // DeepSeek-V3 multi-token-prediction module: not part of the model
        } else if (ends_with(name, "rotary_emb.inv_freq")) {
            skip = true;  // a buffer older transformers saved; recomputed from rope_theta
        } else if (name == "lm_head.weight" && cfg.tie_embeddings) {
            skip = true;  // tied: the output projection is embed_tokens
        }
        R1_CHECK(skip, "[hf] ", loc.file->path(), ": unexpected tensor '", name,
                 "' (not part of a ", m->info.architecture, " with this config.json)");
        m->n_skipped++;
    }
    return m;
}

}  // namespace r1
