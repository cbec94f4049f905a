// The shared meter-semantics table against the in-memory store (semantics.ts + memory.ts).
import { MemoryMeterStore } from '../../../src/engine/meters/memory.js';
import { describeSemantics } from './semantics-cases.js';

const store = new MemoryMeterStore();
describeSemantics('the memory store', () => store);
