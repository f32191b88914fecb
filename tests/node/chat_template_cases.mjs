// Conversations for the chat-template oracle test (tests/node/chat_template_oracle.mjs):
// multi-turn, system prompts, unicode, <think> blocks in history, tool calls (string and
// object arguments), tool results, empty content, Qwen3 reasoning_content, tools lists.
// Each case is {name, messages, vars?}; the test renders each with and without
// add_generation_prompt.

const weatherTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Get the current weather in a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string", description: "city name, e.g. Jakarta" }, unit: { type: "string", enum: ["c", "f"] } },
      required: ["city"],
    },
  },
};
const calcTool = {
  type: "function",
  function: { name: "calc", description: "Evaluate an arithmetic expression", parameters: { type: "object", properties: { expr: { type: "string" } } } },
};

const u = (content) => ({ role: "user", content });
const a = (content) => ({ role: "assistant", content });
const s = (content) => ({ role: "system", content });
const tool = (content) => ({ role: "tool", content });
const callStr = (name, args) => ({ type: "function", function: { name, arguments: JSON.stringify(args) } });
const callObj = (name, args) => ({ type: "function", function: { name, arguments: args } });

export const cases = [
  { name: "single user", messages: [u("What is 12+30?")] },
  { name: "system + user", messages: [s("You are a careful math tutor."), u("Solve 7*8.")] },
  { name: "two systems", messages: [s("Rule one."), s("Rule two."), u("hi")] },
  { name: "system later", messages: [u("hi"), a("hello"), s("Be brief."), u("and now?")] },
  { name: "multi-turn", messages: [u("Hello"), a("Hi! How can I help?"), u("Count to three."), a("1, 2, 3."), u("Thanks")] },
  { name: "think in history", messages: [u("What is 2+2?"), a("<think>\n2 plus 2 is 4.\n</think>\n\nThe answer is 4."), u("And 3+3?")] },
  { name: "think no newline", messages: [u("q"), a("<think>short</think>answer"), u("again")] },
  { name: "two think blocks", messages: [u("q"), a("<think>a</think>mid<think>b</think>\n\nfinal"), u("next")] },
  { name: "prefilled think only close", messages: [u("q"), a("reasoning without open tag\n</think>\n\nThe end.")] },
  { name: "assistant last with think", messages: [u("Explain"), a("<think>\nplan\n</think>\n\nHere it is.")] },
  { name: "unicode", messages: [s("Jawab dalam bahasa Indonesia."), u("你好，世界 🌍👩‍👩‍👧 — مرحبا नमस्ते café naïve"), a("こんにちは！ 😀"), u("Ünïcödé ＡＢＣ　全角スペース")] },
  { name: "edge whitespace", messages: [u("  leading and trailing  \n"), a("\n\nanswer with newlines\n\n"), u("\ttab\u3000ideographic space\u3000")] },
  { name: "empty contents", messages: [s(""), u(""), a(""), u("x")] },
  { name: "template-like text", messages: [u("Write {{ jinja }} and {% raw %} and {# c #} literally"), a("OK: {{ x }}")] },
  { name: "special tokens in text", messages: [u("<|im_start|>user fake<|im_end|> and <｜User｜> and <think>"), a("</think>plain")] },
  { name: "long", messages: [u("word ".repeat(300)), a("ok ".repeat(100).trim()), u("line\n".repeat(50))] },
  {
    name: "tool call string args",
    messages: [
      u("Weather in Jakarta?"),
      { role: "assistant", content: null, tool_calls: [callStr("get_weather", { city: "Jakarta", unit: "c" })] },
      tool('{"temp": 31, "sky": "cerah"}'),
      a("It is 31°C and sunny in Jakarta."),
      u("Thanks"),
    ],
  },
  {
    name: "two tool calls",
    messages: [
      s("You can call tools."),
      u("Weather in Paris and 17*23?"),
      { role: "assistant", content: null, tool_calls: [callStr("get_weather", { city: "Paris" }), callStr("calc", { expr: "17*23" })] },
      tool('{"temp": 12}'),
      tool("391"),
      a("Paris is 12°C; 17*23 = 391."),
    ],
  },
  {
    name: "tool result last",
    messages: [u("Compute 2**10"), { role: "assistant", content: null, tool_calls: [callStr("calc", { expr: "2**10" })] }, tool("1024")],
  },
  {
    name: "qwen tool call object args",
    messages: [
      u("Weather in Oslo?"),
      { role: "assistant", content: "", tool_calls: [callObj("get_weather", { city: "Oslo", unit: "c", days: 3, precise: true, ratio: 0.5 })] },
      tool("<tool_response>-3</tool_response>"),
      a("It is -3°C in Oslo."),
    ],
    vars: { tools: [weatherTool, calcTool] },
  },
  {
    name: "qwen tool call with content",
    messages: [
      s("Use tools when needed."),
      u("Add 2 and 3 then weather in Rome"),
      { role: "assistant", content: "Let me compute.", tool_calls: [callObj("calc", { expr: "2+3" }), callObj("get_weather", { city: "Roma" })] },
      tool("5"),
      tool("sunny"),
      u("great"),
    ],
    vars: { tools: [weatherTool, calcTool] },
  },
  { name: "tools list only", messages: [u("hi")], vars: { tools: [weatherTool] } },
  { name: "tools with system", messages: [s("Sys prompt ✓"), u("hi")], vars: { tools: [calcTool, weatherTool] } },
  {
    name: "qwen3 reasoning_content",
    messages: [u("2+2?"), { role: "assistant", content: "4", reasoning_content: "simple addition" }, u("3+3?"), { role: "assistant", content: "<think>\nsix\n</think>\n\n6" }],
  },
  {
    name: "qwen3 multi-step tool",
    messages: [
      u("Plan a trip"),
      { role: "assistant", content: "<think>\nneed weather\n</think>\n\nChecking.", tool_calls: [callObj("get_weather", { city: "Bali" })] },
      tool("hot"),
      { role: "assistant", content: "<think>\nit is hot\n</think>\n\nPack light." },
    ],
    vars: { tools: [weatherTool] },
  },
  { name: "enable_thinking false", messages: [u("Quick answer: capital of France?")], vars: { enable_thinking: false } },
  { name: "enable_thinking true", messages: [u("Think about it")], vars: { enable_thinking: true } },
  { name: "user tool_response text", messages: [u("<tool_response>\nx\n</tool_response>"), a("ok")] },
  { name: "extra message fields", messages: [{ role: "user", content: "hi", name: "alice" }, { role: "assistant", content: "hello", name: "bot" }] },
  { name: "assistant first", messages: [a("I start."), u("ok")] },
];
