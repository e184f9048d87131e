// Parse Mermaid text from stdin with Mermaid's own parser: exit 0 if valid, 1 (error on stderr) if not.
// Mermaid sanitises labels with DOMPurify, which needs a DOM: make one with jsdom and publish it
// as globals before mermaid is imported.
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!DOCTYPE html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;

const { default: mermaid } = await import("mermaid");

let text = "";
for await (const chunk of process.stdin) text += chunk;

try {
  await mermaid.parse(text);
  process.exit(0);
} catch (error) {
  process.stderr.write(`${error?.message ?? error}\n`);
  process.exit(1);
}
