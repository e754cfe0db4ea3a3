import { EventEmitter } from 'node:events';
import { EventEmitter as EventEmitter3 } from 'eventemitter3';
import { TypedEmitter } from 'girder/core';
import type { BenchSuite } from '../harness.js';

type Events = { decision: { key: string; allowed: boolean } };
const payload = { key: 'user:1', allowed: true };
let sink = 0;
const listener = (p: { allowed: boolean }) => {
  if (p.allowed) sink++;
};

const girder = new TypedEmitter<Events>();
girder.on('decision', listener);
const ee3 = new EventEmitter3();
ee3.on('decision', listener);
const node = new EventEmitter();
node.on('decision', listener);
const silentGirder = new TypedEmitter<Events>();
const silentEe3 = new EventEmitter3();

/** The typed emitter sits on every primitive's hot path, so emit must be cheap. */
export const suite: BenchSuite = {
  name: 'core',
  cases: [
    {
      name: 'emit to one listener',
      girder: (n) => {
        for (let i = 0; i < n; i++) girder.emit('decision', payload);
      },
      peers: [
        {
          name: 'eventemitter3',
          run: (n) => {
            for (let i = 0; i < n; i++) ee3.emit('decision', payload);
          },
        },
        {
          name: 'node:events',
          run: (n) => {
            for (let i = 0; i < n; i++) node.emit('decision', payload);
          },
        },
      ],
    },
    {
      name: 'emit with no listener',
      girder: (n) => {
        for (let i = 0; i < n; i++) silentGirder.emit('decision', payload);
      },
      peers: [
        {
          name: 'eventemitter3',
          run: (n) => {
            for (let i = 0; i < n; i++) silentEe3.emit('decision', payload);
          },
        },
      ],
    },
  ],
};

export const sinkValue = () => sink;
