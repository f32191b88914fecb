// Test corpus for tokenizer_oracle.mjs: many scripts, code, math, numbers, emoji, odd
// whitespace, special tokens inside text, Unicode normalization cases and invalid UTF-8.
// Entries are strings, or { bytes: Uint8Array } for byte sequences that are not valid UTF-8.

const english = [
  "Hello world!",
  "The quick brown fox jumps over the lazy dog.",
  "I'm sure it's fine, isn't it? We've seen they'll say you'd won.",
  "DON'T SHOUT! I'M HERE. IT'S OK. YOU'VE GOT IT. WE'LL SEE. HE'D GO. THEY'RE BACK.",
  "Mixed Case: It'S, wE'Re, yOu'Ve, sHe'Ll, i'M, He'D, Don'T",
  "rock 'n' roll, 'quoted', ''double'', 'tis the season",
  "The long s: it\u017Fs and the Kelvin sign: 5 \u212A; apostrophe\u2019s curly",
  "'\u017Ftart it'\u017Fs DON'\u017FTOP x  \u180E",
  "Let x be the number of apples. Then 3x + 2 = 17, so x = 5.",
  "Wait, let me reconsider. Actually, the answer should be 42.",
  "Email me at someone@example.com or visit https://example.org/path?q=1&r=two#frag",
  "C:\\Users\\name\\Documents\\file.txt and /usr/local/bin/r1 --help",
  "A sentence with trailing spaces.   ",
  "   leading spaces then text",
  "Punctuation!!! Really??? Yes... No--maybe; ok: (fine) [sure] {right} <tag>",
  "\"Double quotes\" and 'single quotes' and `backticks` and \u201Csmart quotes\u201D",
  "e.g. i.e. etc. Mr. Smith vs. Dr. Jones, U.S.A.",
  "snake_case camelCase PascalCase kebab-case SCREAMING_CASE",
  "supercalifragilisticexpialidocious antidisestablishmentarianism",
  "a b c d e f g h i j k l m n o p q r s t u v w x y z",
  "$100.00 \u20AC50 \u00A330 \u00A51000 \u20B9500 #hashtag @mention 50% off & more ~approx ^caret |pipe",
  "Step 1: Read the problem.\nStep 2: Think.\nStep 3: Answer.",
  "First line\r\nSecond line\r\nThird line",
  "Tabs\tbetween\twords\tand\t\ttwo tabs",
  "Caf\u00E9 na\u00EFve r\u00E9sum\u00E9 fa\u00E7ade co\u00F6perate \u00FCber Stra\u00DFe",
  "The end.",
];

const indonesian = [
  "Selamat pagi! Apa kabar hari ini?",
  "Saya sedang belajar bahasa Indonesia di Jakarta.",
  "Berapa harga buku ini? Harganya Rp 150.000,00.",
  "Pemerintah mengumumkan kebijakan baru tentang pendidikan.",
  "Anak-anak bermain sepak bola di lapangan setelah sekolah.",
  "Jawaban akhirnya adalah 24, karena 6 \u00D7 4 = 24.",
  "Terima kasih banyak atas bantuannya, sampai jumpa lagi!",
  "Mari kita pikirkan langkah demi langkah sebelum menjawab.",
  "Kucing itu tidur di atas meja makan sepanjang hari.",
  "Universitas Gadjah Mada terletak di Yogyakarta, Indonesia.",
  "Dia berkata, \"Aku tidak tahu jawabannya.\"",
  "Hari ini tanggal 17 Agustus 1945 adalah hari kemerdekaan.",
];

const cjk = [
  "\u4F60\u597D\uFF0C\u4E16\u754C\uFF01",
  "\u6211\u4EEC\u6765\u4E00\u6B65\u4E00\u6B65\u5730\u601D\u8003\u8FD9\u4E2A\u95EE\u9898\u3002",
  "\u5DF2\u77E5\u4E09\u89D2\u5F62\u7684\u4E24\u8FB9\u5206\u522B\u4E3A3\u548C4\uFF0C\u6C42\u659C\u8FB9\u3002",
  "\u6DF1\u5EA6\u6C42\u7D22\uFF08DeepSeek\uFF09\u662F\u4E00\u5BB6\u4EBA\u5DE5\u667A\u80FD\u516C\u53F8\u3002",
  "\u8FD9\u662F\u4E00\u4E2A\u6D4B\u8BD5\u53E5\u5B50\uFF0C\u5305\u542B\u6807\u70B9\u7B26\u53F7\uFF1A\u201C\u5F15\u53F7\u201D\u3001\u987F\u53F7\u3002",
  "\u7E41\u9AD4\u4E2D\u6587\u6E2C\u8A66\uFF1A\u81FA\u7063\u7684\u6A5F\u5834\u5F88\u5927\u3002",
  "\u7B54\u6848\u662F\uFF1A\\boxed{42}",
  "\u4E2D\u6587English\u6DF7\u5408mixed\u6587\u672Ctext123\u6570\u5B57",
  "\u{20000}\u{2A6D6}\u{30000} rare CJK extension characters",
  "\u3007\u3008\u3009\u300A\u300B\u3010\u3011 CJK punctuation",
  "\u3053\u3093\u306B\u3061\u306F\u3001\u4E16\u754C\uFF01",
  "\u79C1\u306F\u6771\u4EAC\u306B\u4F4F\u3093\u3067\u3044\u307E\u3059\u3002",
  "\u30AB\u30BF\u30AB\u30CA\u3068\u3072\u3089\u304C\u306A\u3068\u6F22\u5B57\u3092\u6DF7\u305C\u305F\u6587\u7AE0\u3067\u3059\u3002",
  "\u30B3\u30F3\u30D4\u30E5\u30FC\u30BF\u30FC\u30FB\u30D7\u30ED\u30B0\u30E9\u30DF\u30F3\u30B0",
  "\uFF71\uFF72\uFF73 half-width katakana \uFF76\uFF9E",
  "\u3084\u3063\u3071\u308A\u3001\u7B54\u3048\u306F\uFF15\u3067\u3059\u306D\u3002",
  "\u4ECA\u65E5\u306F\u3044\u3044\u5929\u6C17\u3067\u3059\u306D\u3002\u6563\u6B69\u306B\u884C\u304D\u307E\u3057\u3087\u3046\u3002",
  "\uC548\uB155\uD558\uC138\uC694, \uC138\uACC4!",
  "\uD55C\uAD6D\uC5B4\uB294 \uC544\uB984\uB2E4\uC6B4 \uC5B8\uC5B4\uC785\uB2C8\uB2E4.",
  "\uB2F5\uC740 42\uC785\uB2C8\uB2E4. \uB2E8\uACC4\uBCC4\uB85C \uC0DD\uAC01\uD574 \uBD05\uC2DC\uB2E4.",
  "\uC11C\uC6B8\uD2B9\uBCC4\uC2DC \uAC15\uB0A8\uAD6C \uD14C\uD5E4\uB780\uB85C 123",
];

const other_scripts = [
  "\u0645\u0631\u062D\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645!",
  "\u0627\u0644\u0644\u063A\u0629 \u0627\u0644\u0639\u0631\u0628\u064A\u0629 \u062C\u0645\u064A\u0644\u0629 \u062C\u062F\u0627\u064B.",
  "\u0627\u0644\u0625\u062C\u0627\u0628\u0629 \u0647\u064A \u0664\u0662 (\u0623\u0631\u0628\u0639\u0629 \u0648\u0623\u0631\u0628\u0639\u0648\u0646).",
  "\u0628\u0650\u0633\u0652\u0645\u0650 \u0627\u0644\u0644\u0651\u064E\u0647\u0650 \u0627\u0644\u0631\u0651\u064E\u062D\u0652\u0645\u064E\u0646\u0650",
  "\u0647\u0630\u0627 \u0646\u0635 \u0639\u0631\u0628\u064A \u0645\u0639 English \u0648\u0623\u0631\u0642\u0627\u0645 123.",
  "\u0928\u092E\u0938\u094D\u0924\u0947 \u0926\u0941\u0928\u093F\u092F\u093E!",
  "\u092E\u0948\u0902 \u0939\u093F\u0902\u0926\u0940 \u0938\u0940\u0916 \u0930\u0939\u093E \u0939\u0942\u0901\u0964",
  "\u0909\u0924\u094D\u0924\u0930 \u096A\u0968 \u0939\u0948\u0964 \u0915\u094D\u0937 \u0924\u094D\u0930 \u091C\u094D\u091E",
  "\u092D\u093E\u0930\u0924 \u090F\u0915 \u0935\u093F\u0936\u093E\u0932 \u0926\u0947\u0936 \u0939\u0948\u0964",
  "\u041F\u0440\u0438\u0432\u0435\u0442, \u043C\u0438\u0440!",
  "\u0414\u0430\u0432\u0430\u0439\u0442\u0435 \u043F\u043E\u0434\u0443\u043C\u0430\u0435\u043C \u0448\u0430\u0433 \u0437\u0430 \u0448\u0430\u0433\u043E\u043C.",
  "\u041E\u0442\u0432\u0435\u0442: 42. \u0401\u043B\u043A\u0430, \u0451\u0436\u0438\u043A \u0438 \u0441\u044A\u0435\u0448\u044C \u0436\u0435 \u0435\u0449\u0451 \u044D\u0442\u0438\u0445 \u043C\u044F\u0433\u043A\u0438\u0445 \u0431\u0443\u043B\u043E\u043A.",
  "\u041C\u043E\u0441\u043A\u0432\u0430 \u2014 \u0441\u0442\u043E\u043B\u0438\u0446\u0430 \u0420\u043E\u0441\u0441\u0438\u0438.",
  "\u0393\u03B5\u03B9\u03AC \u03C3\u03BF\u03C5 \u039A\u03CC\u03C3\u03BC\u03B5! \u03B1\u03B2\u03B3\u03B4 \u03A9\u03C9",
  "\u05E9\u05DC\u05D5\u05DD \u05E2\u05D5\u05DC\u05DD",
  "\u0E2A\u0E27\u0E31\u0E2A\u0E14\u0E35\u0E04\u0E23\u0E31\u0E1A \u0E42\u0E25\u0E01",
  "Xin ch\u00E0o th\u1EBF gi\u1EDBi! Ti\u1EBFng Vi\u1EC7t c\u00F3 nhi\u1EC1u d\u1EA5u.",
  "T\u00FCrk\u00E7e \u0131\u0130 \u015F\u015E \u011F\u011E \u00E7\u00C7",
  "\u10D2\u10D0\u10DB\u10D0\u10E0\u10EF\u10DD\u10D1\u10D0 \u0540\u0561\u0575\u0565\u0580\u0565\u0576 \u12A0\u121B\u122D\u129B",
  "\u0B95\u0BBE\u0BB2\u0BC8 \u0BB5\u0BA3\u0B95\u0BCD\u0B95\u0BAE\u0BCD \u09AC\u09BE\u0982\u09B2\u09BE \u0A2A\u0A70\u0A1C\u0A3E\u0A2C\u0A40",
];

const code = [
  "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
  "import numpy as np\nx = np.arange(10).reshape(2, 5)\nprint(x.T @ x)\n",
  "class Foo:\n\tdef __init__(self, x: int) -> None:\n\t\tself.x = x  # comment\n",
  "#include <iostream>\nint main() {\n    std::cout << \"Hello\" << std::endl;\n    return 0;\n}\n",
  "template <typename T>\nstd::vector<T> f(const std::vector<T>& v) { return {v.rbegin(), v.rend()}; }",
  "for (int i = 0; i < n; ++i) { a[i] += b[i] * c[i]; }",
  "const add = (a, b) => a + b;\nconsole.log(`sum: ${add(1, 2)}`);\n",
  "function* gen() { yield* [1, 2, 3]; }\nlet x = a ?? b ?. c || d && !e;",
  "fn main() {\n    let v: Vec<u32> = (0..10).map(|x| x * x).collect();\n    println!(\"{:?}\", v);\n}\n",
  "impl<'a> Iterator for Foo<'a> { type Item = &'a str; }",
  "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hi\")\n}\n",
  "SELECT id, name FROM users WHERE age >= 18 AND name LIKE '%son' ORDER BY id DESC;",
  "#!/bin/bash\nset -euo pipefail\nfor f in *.txt; do echo \"$f\"; done 2>&1 | tee log\n",
  "<!DOCTYPE html>\n<html><body><div class=\"x\">Hi &amp; bye</div></body></html>",
  "{\"name\": \"r1\", \"version\": [0, 1, 0], \"nested\": {\"a\": null, \"b\": true}}",
  "x = [i**2 for i in range(100) if i % 3 == 0]",
  "    indented with four spaces\n        and eight\n\t\tand tabs\n",
  "if (x != y && y <= z || z >= w) { return x << 2 >> 1 ^ ~y; }",
  "public static void main(String[] args) { System.out.println(\"Java\"); }",
  "SELECT COUNT(*)::int AS n FROM t; -- trailing comment",
  "    return a+b;;;;\n}}}}\n",
  "struct Point { double x, y; };\nauto p = Point{.x = 1.0, .y = -2.5e-3};",
  "diff --git a/x b/x\n@@ -1,3 +1,4 @@\n-old line\n+new line\n",
  "my %h = (key => 'value'); print \"$h{key}\\n\";",
  "matrix = [[1, 2], [3, 4]]  # 2x2\n\n\n\nprint(matrix)",
];

const latex = [
  "$x^2 + y^2 = z^2$",
  "\\[ \\int_0^\\infty e^{-x^2}\\,dx = \\frac{\\sqrt{\\pi}}{2} \\]",
  "\\sum_{k=1}^{n} k = \\frac{n(n+1)}{2}",
  "\\begin{align} a &= b + c \\\\ d &= e - f \\end{align}",
  "The answer is $\\boxed{\\dfrac{3}{4}}$.",
  "\\lim_{x \\to 0} \\frac{\\sin x}{x} = 1",
  "\\mathbf{A}\\mathbf{x} = \\lambda \\mathbf{x}, \\quad \\det(\\mathbf{A} - \\lambda I) = 0",
  "$$\\binom{n}{k} = \\frac{n!}{k!(n-k)!}$$",
  "Let $f(x) = \\sqrt[3]{x^{2}-1}$ for $x \\in \\mathbb{R}$.",
  "\\alpha + \\beta = \\gamma, \\; \\forall \\epsilon > 0 \\, \\exists \\delta",
  "\u222B\u2080^\u221E e^(\u2212x) dx = 1, \u2200x\u2208\u211D, x\u00B2 \u2265 0, \u221A2 \u2248 1.414",
  "\\left( \\frac{a}{b} \\right)^{-1} = \\frac{b}{a}",
  "\\text{if } n \\equiv 1 \\pmod{4} \\text{ then } \\ldots",
  "\\boxed{x = \\pm 2}",
];

function numbers() {
  const out = [];
  const digits = "31415926535897932384626433832795028841971";
  for (let n = 1; n <= 30; n++) out.push(digits.slice(0, n));
  for (let n = 1; n <= 30; n += 3) out.push(`x${digits.slice(0, n)}y`);
  out.push(
    "1,234,567", "1.234.567,89", "1 234 567", "12_345_678", "1'000'000", "0.5", ".5", "5.",
    "3.14159265358979", "-42", "+7", "1e-9", "6.022e23", "0x1F", "0b1010", "007", "100%",
    "2024-01-15", "12:34:56", "+1 (555) 123-4567", "192.168.0.1", "v1.2.3", "1/2 + 3/4 = 5/4",
    "10^9+7", "\u0661\u0662\u0663\u0664\u0665", "\u0967\u0968\u0969", "\uFF11\uFF12\uFF13\uFF14",
    "\u00BD \u00BC \u00B2 \u00B3 \u2160 \u2161 \u2462", "123abc456def789", "a1b2c3d4",
    "99999999999999999999999999999999999999999999", "1,000,000,000,000,000,000,000",
  );
  return out;
}

const emoji = [
  "\u{1F600}", "\u{1F44D}\u{1F3FD}", "\u{1F468}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}",
  "\u{1F469}\u{1F3FE}\u200D\u{1F4BB} coding", "\u{1F3F3}\uFE0F\u200D\u{1F308}", "\u{1F1EF}\u{1F1F5}\u{1F1EE}\u{1F1E9}",
  "\u2764\uFE0F \u2764 \u2665", "1\uFE0F\u20E3 #\uFE0F\u20E3", "\u{1F9D1}\u{1F3FB}\u200D\u{1F91D}\u200D\u{1F9D1}\u{1F3FF}",
  "I love it \u{1F60D}\u{1F60D}\u{1F60D}!!!", "\u{1F680} to the moon \u{1F315}", "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}",
  "\u{1F44B}\u{1F3FB}\u{1F44B}\u{1F3FC}\u{1F44B}\u{1F3FD}\u{1F44B}\u{1F3FE}\u{1F44B}\u{1F3FF}", "text\u{1F914}text", "\u{1FAE0}\u{1FAE8}\u{1FA77}",
  "\u263A\uFE0F \u2639 \u2603\uFE0F \u2600", "(\u256F\u00B0\u25A1\u00B0)\u256F\uFE35 \u253B\u2501\u253B", "\u{1F46E}\u200D\u2640\uFE0F\u{1F46E}\u{1F3FD}\u200D\u2642\uFE0F",
];

const whitespace = [
  "", " ", "  ", "\t", "\n", "\r\n", "\n\n\n", " \n ", "\t\n\t", "a  b", "a   b", "a    b",
  "a" + " ".repeat(16) + "b", " ".repeat(33), "a\u00A0b", "a\u00A0\u00A0b", "\u3000\u5168\u89D2\u3000\u7A7A\u767D\u3000",
  "a\u2003b\u2009c\u200Ad", "zero\u200Bwidth\u200Cnon\u200Djoiner", "\uFEFFbom at start", "nel\u0085next line",
  "line\u2028separator\u2029para", "trailing  \n  spaces  \n", "x \t \t y", "\r\r\n\n\r", "end with newline\n",
  "  \n\n  indented\n\n", "\v\f vertical tab and form feed", "a\u180Eb mongolian vowel separator", "\u00A0leading nbsp",
  "word \u00A0\u00A0 word", "\t\tdouble tab start", "crlf in code:\r\n    x = 1\r\n",
];

const specials = [
  "<think>\nLet me work this out.\n</think>\nThe answer is 4.",
  "<think></think>", "<think>\n\n</think>\n\n", "before<think>inside</think>after", "<think> spaced </think>",
  "<\uFF5Cbegin\u2581of\u2581sentence\uFF5C>Hello", "<\uFF5CUser\uFF5C>What is 2+2?<\uFF5CAssistant\uFF5C><think>\n",
  "<\uFF5Cend\u2581of\u2581sentence\uFF5C><\uFF5Cend\u2581of\u2581sentence\uFF5C>",
  "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
  "<|endoftext|>", "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
  "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>", "<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>",
  "partial <|im_sta and <thin k> and </think", "<<think>>", "<think><think></think></think>", "x<|im_end|>y<|im_end|>z",
  "  <think>  ", "\n<|im_start|>\n", "<\uFF5Cfim\u2581hole\uFF5C><\uFF5Cfim\u2581begin\uFF5C>code<\uFF5Cfim\u2581end\uFF5C>",
  "<\uFF5Ctool\u2581calls\u2581begin\uFF5C><\uFF5Ctool\u2581call\u2581begin\uFF5C>function<\uFF5Ctool\u2581sep\uFF5C>get",
  "<|reserved_special_token_5|>text<|reserved_special_token_250|>", "<|eot_id|><|eom_id|><|python_tag|>",
  "Use <think> tags like <think>this</think>.", "\uFF5C\u2581\uFF5C not a token",
];

const normalization = [
  "e\u0301 vs \u00E9", "A\u030A vs \u00C5 vs \u212B", "\u1100\u1161\u11A8 \u1100\u1161", "\u1E9B\u0323",
  "a\u0323\u0302 and a\u0302\u0323", "\u0958\u0959 composition exclusions", "\uFB01 ligature", "\u2126 ohm \u03A9 omega",
  "Vie\u0302\u0323t Nam", "o\u0308\u0304 and \u022B", "\u0041\u0328\u0301 \u0105\u0301", "\u03B1\u0313\u0301\u0345",
  "n\u0303 \u00F1 N\u0303", "\u304B\u3099 \u304C \u30AB\u3099", "\u0627\u0653 \u0622", "\u0915\u093C \u0958",
  "\u00C7\u0301 C\u0327\u0301", "x\u0301\u0301\u0301\u0301 many marks", "\u0301 leading combining mark", "\u1161\u11A8 lone jamo",
];

function invalid_bytes() {
  const b = (...xs) => ({ bytes: Uint8Array.from(xs) });
  const t = (s) => [...new TextEncoder().encode(s)];
  return [
    b(0x80), b(0xBF), b(0xC0, 0xAF), b(0xC1, 0xBF), b(0xE4, 0xB8), b(0xE4), b(0xF0, 0x9F, 0x98),
    b(0xED, 0xA0, 0x80), b(0xED, 0xBF, 0xBF), b(0xF4, 0x90, 0x80, 0x80), b(0xF5, 0x80, 0x80, 0x80),
    b(0xFE), b(0xFF, 0xFE), b(0xE0, 0x80, 0x80), b(0xF0, 0x80, 0x80, 0x80),
    b(...t("Hello "), 0xFF, ...t(" world")), b(...t("\u4F60"), 0xE5, 0xA5, ...t("\u597D")),
    b(...t("abc"), 0xC3), b(0xC3, ...t("abc")), b(...t("<think>"), 0x80, 0x81, ...t("</think>")),
    b(0x61, 0x80, 0x62, 0xBF, 0x63, 0xC2, 0x64), b(...t("12345"), 0xF0, 0x9F, ...t("678")),
    b(0xE2, 0x82, 0xE2, 0x82, 0xAC), b(0xF0, 0x9F, 0x98, 0xF0, 0x9F, 0x98, 0x80),
  ];
}

// Deterministic pseudo-random strings from a pool that stresses the split regexes.
function random_strings(count, seed) {
  const pool = [
    "a", "Z", "q", "\u00E9", "\u00DF", "\u4E2D", "\u6587", "\u3042", "\u30A2", "\uD55C", "\u0639", "\u0939", "\u093F", "\u0436",
    "0", "7", "\u0663", "\u00B2", " ", " ", " ", "  ", "\t", "\n", "\r\n", "\u00A0", "\u3000", ".", ",", "!", "?", "'",
    "'s", "'LL", "\"", "-", "_", "(", ")", "[", "{", "$", "\\", "/", "*", "+", "=", "<", ">", "\u{1F600}", "\u{1F3FD}",
    "\u200D", "\u0301", "\u2019", "\u2014", "\u2026", "<think>", "</think>", "<|im_end|>", "\uFF0C", "\u3002", "#",
  ];
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const out = [];
  for (let i = 0; i < count; i++) {
    const len = 1 + Math.floor(rnd() * 40);
    let x = "";
    for (let k = 0; k < len; k++) x += pool[Math.floor(rnd() * pool.length)];
    out.push(x);
  }
  return out;
}

function long_texts() {
  const para = english.slice(0, 10).join(" ") + "\n\n" + cjk.slice(0, 5).join("") + "\n" + code[0];
  return [para.repeat(6), "a".repeat(400), "ab".repeat(300), "9".repeat(200), " ".repeat(300) + "x",
          "\u4E2D".repeat(150), "!".repeat(100), "\u{1F600}".repeat(60), "word ".repeat(200)];
}

export function build_corpus() {
  return [
    ...english, ...indonesian, ...cjk, ...other_scripts, ...code, ...latex, ...numbers(),
    ...emoji, ...whitespace, ...specials, ...normalization, ...invalid_bytes(),
    ...random_strings(80, 12345), ...long_texts(),
  ];
}
