/**
 * RFC 6749 §5.2 (and §4.1.2.1, RFC 7591 §3.2.2): an `error_description` holds only %x20-21 / %x23-5B /
 * %x5D-7E. `restrictedText` (shared/error-text.ts) replaces anything else with `?`, which is right for
 * the input a description quotes and wrong for the text the AS writes itself: "RFC 6749 §6" reached
 * clients as "RFC 6749 ?6". So every piece of text the AS's own code can put into a description — the
 * literal parts of each error it constructs, and the reasons other modules hand it to quote — must
 * already be in that set. Read from the source with the TypeScript parser, so a new error cannot escape.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { restrictedText } from "../../shared/error-text.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const ALLOWED = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;

const tsFiles = (dir: string): string[] =>
  readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : [],
  );
/** The AS's own code, and the shared module whose verdicts its errors quote (R10). */
const SOURCES = [...tsFiles("as"), "shared/loopback-headers.ts"];

const parse = (file: string) => ts.createSourceFile(file, readFileSync(path.join(ROOT, file), "utf8"), ts.ScriptTarget.Latest, true);

/** The literal text inside an expression: string literals and the fixed parts of template literals. */
function literalsIn(node: ts.Node): ts.LiteralLikeNode[] {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) {
    return [node];
  }
  const found: ts.LiteralLikeNode[] = [];
  ts.forEachChild(node, (child) => void found.push(...literalsIn(child)));
  return found;
}

/** `OAuthError` and every class of as/errors.ts that extends it (directly or not). */
function errorClasses(): Set<string> {
  const classes = new Set(["OAuthError"]);
  const declarations = parse("as/errors.ts").statements.filter(ts.isClassDeclaration);
  for (let grew = true; grew; ) {
    grew = false;
    for (const c of declarations) {
      const base = c.heritageClauses?.[0]?.types[0]?.expression.getText();
      if (c.name && base && classes.has(base) && !classes.has(c.name.text)) grew = classes.add(c.name.text) !== undefined;
    }
  }
  return classes;
}

interface Piece {
  where: string;
  text: string;
}

/** Every piece of text that can end up in an error_description the AS answers with. */
function descriptionPieces(): Piece[] {
  const classes = errorClasses();
  const pieces: Piece[] = [];
  for (const file of SOURCES) {
    const source = parse(file);
    const add = (node: ts.Node) => {
      for (const literal of literalsIn(node)) {
        pieces.push({ where: `${file}:${source.getLineAndCharacterOfPosition(literal.getStart()).line + 1}`, text: literal.text });
      }
    };
    const visit = (node: ts.Node) => {
      // new InvalidRequest("…"), new InvalidScope(`… ${input} …`): every argument but an issuer (a URL).
      if (ts.isNewExpression(node) && classes.has(node.expression.getText())) node.arguments?.filter((a) => a.getText() !== "issuer").forEach(add);
      // Inside errors.ts, super(status, error, description): the description each class writes itself.
      if (file === "as/errors.ts" && ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.SuperKeyword && node.arguments[2]) {
        add(node.arguments[2]);
      }
      // What another function hands an error to quote: a `description` or `reason` (R10's verdict,
      // redirect-uri.ts's reject("…")).
      if ((ts.isPropertyAssignment(node) || ts.isVariableDeclaration(node)) && /^(description|reason)$/.test(node.name.getText()) && node.initializer) {
        add(node.initializer);
      }
      if (ts.isCallExpression(node) && node.expression.getText() === "reject") node.arguments.forEach(add);
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return pieces;
}

test("the scan finds the AS's error descriptions (it is looking at the code)", () => {
  const texts = descriptionPieces().map((p) => p.text);
  assert.ok(texts.length > 60, `only ${texts.length} pieces found`);
  for (const expected of ["a refresh cannot widen scope (RFC 6749 section 6): ", "contains a backslash", "more than one Host header (RFC 9112 section 3.2)"]) {
    assert.ok(texts.includes(expected), `the scan did not find ${JSON.stringify(expected)}`);
  }
});

test("every error_description the AS writes is in RFC 6749 §5.2's character set (no §: \"section 6\")", () => {
  const outside = descriptionPieces().filter((p) => !ALLOWED.test(p.text));
  assert.deepEqual(outside.map((p) => `${p.where}: ${JSON.stringify(p.text)}`), []);
  // …so restrictedText changes nothing of it: only quoted input can meet a `?`.
  for (const p of descriptionPieces()) assert.equal(restrictedText(p.text), p.text, p.where);
});
