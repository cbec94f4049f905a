// Applies a decision's component behaviours to an HTML response as it streams (docs/components.md).
//
// lol-html does the parsing, the selector matching and the element operations, with the handlers
// registered in the order the edge proxies register theirs, so what they both do comes out the same.
// Two things are plangate's own:
//
// 1. `replaceRange` in one pass. The edge proxies read the whole response once to find the markers,
//    then rewrite it. Here, inside each element the component's selector matches (its container),
//    everything after the fromMarker's end tag is cut as it streams (elements, text and comments),
//    until the toMarker starts or the container ends. What can only be known later is whether a cut
//    element encloses the toMarker (it must then stay, as on the edge): such elements lose their tags
//    as they are cut, and the start tags are kept aside, up to `pendingTagLimitBytes`; when the
//    toMarker comes they are written back in front of it (and their end tags after it), otherwise
//    dropped when they close. Past the limit the transform stops looking for the toMarker: everything
//    after the fromMarker, to the container's end, is cut. Cut text is never kept and never sent.
//
// 2. Soft paywalls (`requireCuts`). On a page a reader has not paid for, every cutting component (a
//    `replaceRange` or a `remove`) must have cut, or the page must not go out at all. So nothing is
//    emitted until each has begun to cut: the output is held (at most `holdLimitBytes`) and `ready`
//    settles before the first byte leaves: `{ ok: true }`, or `{ ok: false, reason }` when a marker
//    or the selector's element is missing, the limit is reached, the charset cannot be parsed or the
//    rewriter failed; the caller then sends the hard denial instead, and the stream emits nothing.
//    Every later container is held the same way from its start tag until its fromMarker comes; one
//    that ends without it fails the stream with an error (`ERR_COMPONENT_CUT`) after the bytes before
//    it have gone out: the caller can only abort the response, and the held text is dropped.
//
// When lol-html calls a handler, it has already given the sink the output of everything before the
// token being handled, whatever the chunking (the tests run every range case in chunks of 1 to 17
// bytes): that is what lets the sink hold, release and write back start tags at the right place.
import { Transform, type TransformCallback } from 'node:stream';
import type { ComponentBehavior, ComponentContent } from '../../engine/types.js';
import { pageCharset, type PageCharset } from './charset.js';
import { asciiOnly, renderInsertions } from './render.js';
import { createRewriter, freeing, type Comment, type Element, type EndTag, type HTMLRewriter, type TextChunk } from './rewriter.js';
import { scopedSelector } from '../../engine/components/selectors.js';
import { checkComponentBehavior } from '../../engine/components/check-output.js';

export interface ComponentTransformOptions {
  /** The upstream's `Content-Type`: its charset names the page's; else a BOM or `<meta>` does (docs/components.md). */
  contentType?: string;
  /** A soft paywall: emit nothing until every cutting component has cut; `ready` says whether they could. Default false. */
  requireCuts?: boolean;
  /** With `requireCuts`, the most output held while waiting for a cut to begin. Default 512 KiB. */
  holdLimitBytes?: number;
  /** The most start-tag bytes kept after a fromMarker while the toMarker may still come. Default 16 KiB. */
  pendingTagLimitBytes?: number;
}

export const DEFAULT_HOLD_LIMIT_BYTES = 512 * 1024;
export const DEFAULT_PENDING_TAG_LIMIT_BYTES = 16 * 1024;

/** Why a cut could not be made (stable codes, for the log and for phase-2 hard denials). */
export type CutFailure =
  | 'no-match' // the selector matched no element
  | 'marker-missing' // a container ended (or the page did) without its fromMarker
  | 'marker-unclosed' // the fromMarker had no end tag of its own: lol-html ends it at an ancestor's
  | 'hold-limit' // more than holdLimitBytes before a cut began
  | 'tag-limit' // more than pendingTagLimitBytes of elements open after a fromMarker: cut to the container's end
  | 'markers-identical' // fromMarker and toMarker are the same selector: the range is skipped, as on the edge
  | 'invalid-selector' // lol-html refuses the component's selector or a marker: the component is skipped
  | 'malformed' // the behaviour is not what the wire format allows (validate.ts): the component is skipped
  | 'unsupported-charset' // the page's charset is not ASCII-compatible (UTF-16, ISO-2022-JP)
  | 'rewrite-failed'; // lol-html failed on the input

export type TransformReady = { ok: true } | { ok: false; reason: CutFailure; component?: string; detail: string };

export interface TransformProblem {
  component?: string;
  reason: CutFailure;
  detail: string;
}

export interface TransformReport {
  /** The charset the page was read in (a WHATWG encoding name). */
  charset: string;
  /** Components whose operations changed at least one element. */
  applied: string[];
  /** What could not be done; empty when everything was. */
  problems: TransformProblem[];
  /** True when the page went through byte for byte (its charset cannot be rewritten). */
  untouched: boolean;
}

export interface ComponentTransform {
  /** The upstream's body in (decoded: see content-coding.ts), the page with the components applied out. */
  readonly stream: Transform;
  /** Settles before the stream emits its first byte (at once without `requireCuts`). */
  readonly ready: Promise<TransformReady>;
  /** Settles when the stream has ended or failed: what was done, for the log. */
  readonly done: Promise<TransformReport>;
  /** What `ready` settled to, read synchronously (undefined while it is pending). */
  readonly readyNow: TransformReady | undefined;
}

/** The error a `requireCuts` stream fails with when a later container has no fromMarker. */
export class ComponentCutError extends Error {
  readonly code = 'ERR_COMPONENT_CUT';
  constructor(readonly problem: TransformProblem) {
    super(problem.detail);
  }
}

export function createComponentTransform(behaviors: Record<string, ComponentBehavior>, options: ComponentTransformOptions = {}): ComponentTransform {
  const stream = new ComponentStream(behaviors, options);
  return {
    stream,
    ready: stream.ready,
    done: stream.done,
    get readyNow() {
      return stream.readyState;
    },
  };
}

interface Plan {
  slug: string;
  selector: string;
  content: ComponentContent;
  /** Removes, or cuts a range: on a soft paywall it must have done so before anything is sent. */
  cuts: boolean;
}

/** What a range component knows about the container it is in (the outermost match; nested ones are its content). */
interface Container {
  phase: 'scanning' | 'cutting' | 'done';
  /** Start tags of cut elements that may still enclose the toMarker, outermost first. */
  pending: { html: string; revealed: boolean }[];
  pendingBytes: number;
  /** Over pendingTagLimitBytes: the toMarker is no longer looked for. */
  gaveUp: boolean;
  held: boolean;
}

interface Range {
  plan: Plan;
  from?: string;
  to?: string;
  replaceWith: string;
  open?: Container;
  /** Set by the marker handlers for the element being handled, read by the descendant handler. */
  atFrom: boolean;
  atTo: boolean;
}

const VOID_CONTENT = ['before', 'prepend', 'append', 'after'] as const;

class ComponentStream extends Transform {
  readonly ready: Promise<TransformReady>;
  readonly done: Promise<TransformReport>;
  private settleReady!: (ready: TransformReady) => void;
  private settleDone!: (report: TransformReport) => void;
  private readonly plans: Plan[] = [];
  private readonly requireCuts: boolean;
  private readonly holdLimit: number;
  private readonly pendingLimit: number;
  private readonly contentType: string | undefined;
  private rewriter: HTMLRewriter | undefined;
  private charset: PageCharset | undefined;
  /** The first bytes, kept until the charset is known (at most 1,024, as browsers prescan). */
  private prefix: Buffer[] = [];
  private prefixBytes = 0;
  private readonly applied = new Set<string>();
  private readonly problems: TransformProblem[] = [];
  /** Cutting components that have not cut yet (requireCuts only). */
  private readonly uncut = new Set<Plan>();
  private readonly matched = new Set<Plan>();
  private released = false;
  private scanningHeld = 0;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private failed = false;
  private untouched = false;
  readyState: TransformReady | undefined;

  constructor(behaviors: Record<string, ComponentBehavior>, options: ComponentTransformOptions) {
    super();
    this.ready = new Promise((resolve) => (this.settleReady = resolve));
    this.done = new Promise((resolve) => (this.settleDone = resolve));
    this.requireCuts = options.requireCuts === true;
    this.released = !this.requireCuts;
    this.holdLimit = options.holdLimitBytes ?? DEFAULT_HOLD_LIMIT_BYTES;
    this.pendingLimit = options.pendingTagLimitBytes ?? DEFAULT_PENDING_TAG_LIMIT_BYTES;
    this.contentType = options.contentType;
    if (!this.requireCuts) this.settle({ ok: true });
    for (const [slug, behavior] of Object.entries(behaviors)) {
      // Applied only as checked (validate.ts owns the rules; the caller has usually checked already).
      const checked = checkComponentBehavior(behavior, `componentBehaviors.${slug}`);
      if (!checked.ok) {
        const raw = behavior?.content;
        const cuts = typeof raw === 'object' && raw !== null && ('remove' in raw || 'replaceRange' in raw);
        const reason = checked.problems.some((p) => p.selector) ? 'invalid-selector' : 'malformed';
        const detail = checked.problems.map((p) => `${p.path}: ${p.message}`).join('; ');
        this.problems.push({ component: slug, reason, detail });
        if (cuts && this.requireCuts) this.fail({ component: slug, reason, detail });
        continue;
      }
      const { content, metadata } = checked.value;
      if (content === undefined) continue;
      const plan: Plan = { slug, selector: metadata.cssSelector, content, cuts: content.remove === true || content.replaceRange !== undefined };
      this.plans.push(plan);
      if (plan.cuts && this.requireCuts) this.uncut.add(plan);
    }
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.failed) return callback();
    if (this.untouched) return callback(null, chunk);
    if (this.rewriter === undefined) {
      this.prefix.push(chunk);
      this.prefixBytes += chunk.length;
      if (this.prefixBytes < 1024) return callback();
      const first = Buffer.concat(this.prefix);
      this.prefix = [];
      if (!this.start(first)) return callback();
      if (this.untouched) return callback(null, first);
      return this.write$(first, callback);
    }
    this.write$(chunk, callback);
  }

  override _flush(callback: TransformCallback): void {
    if (this.failed) return this.finish(callback);
    if (this.rewriter === undefined) {
      const first = Buffer.concat(this.prefix);
      this.prefix = [];
      if (!this.start(first)) return this.finish(callback);
      if (this.untouched) {
        this.push(first);
        return this.finish(callback);
      }
      return this.write$(first, (error) => (error ? callback(error) : this.end$(callback)));
    }
    if (this.untouched) return this.finish(callback);
    this.end$(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.freeRewriter();
    if (this.readyState === undefined) this.settle({ ok: false, reason: 'rewrite-failed', detail: `the stream was destroyed: ${error?.message ?? 'aborted'}` });
    this.settleDone(this.report());
    callback(error);
  }

  /** Charset known: sets up the rewriter (false when the page cannot be transformed). */
  private start(firstBytes: Buffer): boolean {
    this.charset = pageCharset(firstBytes, this.contentType);
    if (!this.charset.asciiCompatible) {
      const detail = `the page's charset ${this.charset.name} is not ASCII-compatible: lol-html cannot parse it`;
      if (this.requireCuts) {
        this.fail({ reason: 'unsupported-charset', detail });
        return false;
      }
      this.problems.push({ reason: 'unsupported-charset', detail });
      this.untouched = true;
      return true;
    }
    this.rewriter = createRewriter((chunk) => this.output(chunk));
    for (const plan of this.plans) this.register(plan);
    this.checkRelease();
    return !this.failed;
  }

  private write$(chunk: Buffer, callback: TransformCallback): void {
    this.rewriter!.write(chunk).then(
      () => callback(),
      (error: Error) => this.rewriteFailed(error, callback),
    );
  }

  private end$(callback: TransformCallback): void {
    if (this.failed || this.rewriter === undefined) return this.finish(callback);
    this.rewriter.end().then(
      () => {
        this.freeRewriter();
        this.endOfPage();
        this.finish(callback);
      },
      (error: Error) => this.rewriteFailed(error, callback),
    );
  }

  private finish(callback: TransformCallback): void {
    this.settleDone(this.report());
    callback();
  }

  private report(): TransformReport {
    return { charset: this.charset?.name ?? 'unknown', applied: [...this.applied], problems: this.problems, untouched: this.untouched };
  }

  private freeRewriter(): void {
    const rewriter = this.rewriter;
    this.rewriter = undefined;
    // A write in flight has already returned from wasm (handlers are synchronous): freeing is safe.
    rewriter?.free();
  }

  private rewriteFailed(error: Error, callback: TransformCallback): void {
    this.freeRewriter();
    const problem: TransformProblem = { reason: 'rewrite-failed', detail: `the HTML rewriter failed: ${error.message}` };
    if (!this.released && this.requireCuts) {
      this.fail(problem);
      return callback();
    }
    this.problems.push(problem);
    this.settleDone(this.report());
    callback(error);
  }

  // ---- output: held or sent ----------------------------------------------------------------------

  private output(chunk: Uint8Array): void {
    if (this.failed) return;
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.released && this.scanningHeld === 0) {
      this.push(bytes);
      return;
    }
    this.held.push(bytes);
    this.heldBytes += bytes.length;
    if (this.heldBytes > this.holdLimit) {
      const detail = `more than ${this.holdLimit} bytes of the page came before a cut could begin (holdLimitBytes)`;
      if (!this.released) this.fail({ reason: 'hold-limit', detail });
      else this.failMidStream({ reason: 'hold-limit', detail });
    }
  }

  /** Sends what was held once no cut is awaited any more. */
  private checkRelease(): void {
    if (this.failed) return;
    if (!this.released) {
      if (this.uncut.size > 0 || this.scanningHeld > 0) return;
      this.released = true;
      this.settle({ ok: true });
    } else if (this.scanningHeld > 0) return;
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const chunk of held) this.push(chunk);
  }

  private settle(ready: TransformReady): void {
    if (this.readyState !== undefined) return;
    this.readyState = ready;
    this.settleReady(ready);
  }

  /** Before anything was sent: nothing will be. */
  private fail(problem: TransformProblem): void {
    this.failed = true;
    this.held = [];
    this.heldBytes = 0;
    this.problems.push(problem);
    this.settle({ ok: false, ...problem });
    this.freeRewriterSoon();
  }

  /** After the page began to go out: drop what is held and fail the stream. */
  private failMidStream(problem: TransformProblem): void {
    this.failed = true;
    this.held = [];
    this.heldBytes = 0;
    this.problems.push(problem);
    this.freeRewriterSoon();
    process.nextTick(() => this.destroy(new ComponentCutError(problem)));
  }

  /** From inside a handler the rewriter is still running: free it after this write returns. */
  private freeRewriterSoon(): void {
    const rewriter = this.rewriter;
    this.rewriter = undefined;
    if (rewriter !== undefined) setImmediate(() => rewriter.free());
  }

  private endOfPage(): void {
    for (const plan of this.plans) {
      const range = this.ranges.get(plan);
      if (range?.open !== undefined) this.closeContainer(range, range.open);
    }
    if (this.failed) return;
    if (!this.released && this.requireCuts) {
      const [plan] = this.uncut;
      if (plan !== undefined) {
        const missing = this.matched.has(plan);
        this.fail({
          component: plan.slug,
          reason: missing ? 'marker-missing' : 'no-match',
          detail: missing
            ? `component '${plan.slug}': no fromMarker ${JSON.stringify(plan.content.replaceRange?.fromMarker)} in the element ${JSON.stringify(plan.selector)} matched`
            : `component '${plan.slug}': no element matches ${JSON.stringify(plan.selector)}`,
        });
        return;
      }
    }
    this.checkRelease();
  }

  private cut(plan: Plan): void {
    this.applied.add(plan.slug);
    if (this.uncut.delete(plan)) this.checkRelease();
  }

  // ---- handlers ------------------------------------------------------------------------------------

  private readonly ranges = new Map<Plan, Range>();

  private register(plan: Plan): void {
    const { content, selector, slug } = plan;
    const rewriter = this.rewriter!;
    const skip = (reason: CutFailure, detail: string) => {
      this.problems.push({ component: slug, reason, detail });
      if (plan.cuts && this.requireCuts) this.fail({ component: slug, reason, detail });
    };
    const html = (items: ComponentContent['before']) => (items?.length ? this.encode(renderInsertions(items)) : undefined);
    const inserts = VOID_CONTENT.map((key) => [key, html(content[key])] as const).filter(([, value]) => value !== undefined) as [
      (typeof VOID_CONTENT)[number],
      string,
    ][];
    // The element operations, as the edge proxies apply them: insertions, then removal.
    if (inserts.length > 0 || content.remove === true) {
      rewriter.on(selector, {
        element: freeing((element: Element) => {
          if (element.removed) return;
          this.matched.add(plan);
          for (const [key, value] of inserts) element[key](value, { html: true });
          this.applied.add(slug);
          if (content.remove === true) {
            element.remove();
            this.cut(plan);
          }
        }),
      });
    }
    const range = content.replaceRange;
    if (range === undefined) return;
    if (range.fromMarker !== undefined && range.fromMarker === range.toMarker)
      return skip(
        'markers-identical',
        `component '${slug}': fromMarker and toMarker are the same selector ${JSON.stringify(range.fromMarker)}: the range is skipped`,
      );
    const state: Range = { plan, replaceWith: html(range.replaceWith) ?? '', atFrom: false, atTo: false };
    if (range.fromMarker !== undefined) state.from = scopedSelector(selector, range.fromMarker);
    if (range.toMarker !== undefined) state.to = scopedSelector(selector, range.toMarker);
    this.ranges.set(plan, state);
    rewriter.on(selector, {
      element: freeing((element: Element) => this.openContainer(state, element)),
      text: freeing((text: TextChunk) => void (state.open?.phase === 'cutting' && text.remove())),
      comments: freeing((comment: Comment) => void (state.open?.phase === 'cutting' && comment.remove())),
    });
    if (state.from !== undefined) rewriter.on(state.from, { element: freeing(() => void (state.atFrom = true)) });
    if (state.to !== undefined) rewriter.on(state.to, { element: freeing(() => void (state.atTo = true)) });
    rewriter.on(scopedSelector(selector, '*'), { element: freeing((element: Element) => this.inContainer(state, element)) });
  }

  private encode(html: string): string {
    return this.charset?.utf8 === false ? asciiOnly(html) : html;
  }

  private openContainer(range: Range, element: Element): void {
    // Inside another match of the same selector, or removed by an earlier component: not a container.
    if (range.open !== undefined || element.removed) return;
    const { plan } = range;
    this.matched.add(plan);
    const container: Container = { phase: range.from === undefined ? 'cutting' : 'scanning', pending: [], pendingBytes: 0, gaveUp: false, held: false };
    range.open = container;
    if (container.phase === 'cutting') {
      if (range.replaceWith !== '') element.prepend(range.replaceWith, { html: true });
      this.cut(plan);
    } else if (this.requireCuts && plan.cuts) {
      container.held = true;
      this.scanningHeld++;
    }
    try {
      element.onEndTag(freeing(() => this.closeContainer(range, container)));
    } catch {
      this.closeContainer(range, container); // a void element: nothing inside to cut
    }
  }

  private closeContainer(range: Range, container: Container): void {
    if (range.open !== container) return;
    range.open = undefined;
    if (!container.held) return;
    container.held = false;
    this.scanningHeld--;
    // Held and not cutting: its fromMarker never came, or has not ended by the container's end.
    if (container.phase === 'cutting') return this.checkRelease();
    if (!this.released) {
      this.fail({
        component: range.plan.slug,
        reason: 'marker-missing',
        detail: `component '${range.plan.slug}': an element matching ${JSON.stringify(range.plan.selector)} ended without the fromMarker ${JSON.stringify(range.plan.content.replaceRange?.fromMarker)}`,
      });
    } else
      this.failMidStream({
        component: range.plan.slug,
        reason: 'marker-missing',
        detail: `component '${range.plan.slug}': a later element matching ${JSON.stringify(range.plan.selector)} ended without the fromMarker: the response was cut short`,
      });
  }

  private inContainer(range: Range, element: Element): void {
    const { atFrom, atTo } = range;
    range.atFrom = range.atTo = false;
    const container = range.open;
    if (container === undefined || element.removed) return;
    if (container.phase === 'scanning') {
      if (!atFrom) return;
      container.phase = 'done'; // until the fromMarker's end tag: only its first match counts
      if (range.replaceWith !== '') element.after(range.replaceWith, { html: true });
      const tag = element.tagName.toLowerCase();
      const begin = (end?: EndTag) => {
        // `<p class="f">teaser<p>more</div>`: the marker has no end tag of its own, so to lol-html it
        // runs to an ancestor's end tag and keeps all it encloses. A soft paywall refuses to guess.
        if (end !== undefined && end.name.toLowerCase() !== tag) {
          const problem: TransformProblem = {
            component: range.plan.slug,
            reason: 'marker-unclosed',
            detail: `component '${range.plan.slug}': the fromMarker <${tag}> has no end tag of its own; it ends at </${end.name}>, keeping everything before it`,
          };
          if (this.requireCuts) return this.released ? this.failMidStream(problem) : this.fail(problem);
          this.problems.push(problem);
        }
        container.phase = 'cutting';
        this.cut(range.plan);
        if (container.held) {
          container.held = false;
          this.scanningHeld--;
          this.checkRelease();
        }
      };
      try {
        element.onEndTag(freeing((end: EndTag) => begin(end)));
      } catch {
        begin(); // a void fromMarker (<hr class="paywall">): the cut starts right after it
      }
      return;
    }
    if (container.phase !== 'cutting') return;
    if (atTo && !container.gaveUp) {
      container.phase = 'done';
      // Cut elements that enclose the toMarker stay, as on the edge: their start tags go out first.
      if (container.pending.length > 0) {
        for (const entry of container.pending) entry.revealed = true;
        this.output(Buffer.from(container.pending.map((entry) => entry.html).join('')));
        container.pending = [];
      }
      return;
    }
    if (range.to === undefined || container.gaveUp) {
      element.remove();
      return;
    }
    // This element might enclose the toMarker: drop its tags but keep its start tag aside.
    const entry = { html: startTag(element, this.charset?.utf8 !== false), revealed: false };
    try {
      element.onEndTag(
        freeing((end: EndTag) => {
          if (entry.revealed) end.before(`</${end.name}>`, { html: true });
          else {
            const at = container.pending.lastIndexOf(entry);
            if (at >= 0) {
              container.pending.splice(at, 1);
              container.pendingBytes -= entry.html.length;
            }
          }
        }),
      );
    } catch {
      element.remove(); // no end tag, so nothing inside: it cannot enclose the toMarker
      return;
    }
    element.removeAndKeepContent();
    container.pending.push(entry);
    container.pendingBytes += entry.html.length;
    if (container.pendingBytes > this.pendingLimit) {
      container.gaveUp = true;
      container.pending = [];
      this.problems.push({
        component: range.plan.slug,
        reason: 'tag-limit',
        detail: `component '${range.plan.slug}': more than ${this.pendingLimit} bytes of elements open after the fromMarker: cut to the end of the element, the toMarker no longer looked for (pendingTagLimitBytes)`,
      });
    }
  }
}

/**
 * A start tag rebuilt from what lol-html gives (the name and the raw attribute values): the same
 * element, its attributes double-quoted. Non-ASCII in a non-UTF-8 page has been decoded as UTF-8 by
 * lol-html and cannot be rebuilt (docs/components.md, "Differences").
 */
function startTag(element: Element, utf8: boolean): string {
  let html = `<${element.tagName}`;
  for (const [name, value] of element.attributes) html += ` ${name}="${value.replaceAll('"', '&quot;')}"`;
  html += '>';
  return utf8 ? html : asciiOnly(html);
}
