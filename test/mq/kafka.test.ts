// Kafka: the argument checks run everywhere; the contract suite runs only against a real
// broker (KAFKA_BROKERS=host:port,...). None can be installed on the CI machines, so
// without the variable the suite is not registered at all (not skipped).
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkaQueue } from '../../src/mq/index.js';
import { describeQueueContract } from './contract.js';

describe('kafkaQueue arguments', () => {
  it('refuses an object without the kafkajs API', () => {
    expect(() => kafkaQueue({} as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => kafkaQueue(null as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('refuses unknown and out-of-range options', () => {
    const kafka = new Kafka({ brokers: ['127.0.0.1:1'], logLevel: logLevel.NOTHING });
    expect(() => kafkaQueue(kafka, { fromBegining: true } as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() => kafkaQueue(kafka, { acks: 2 as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    const q = kafkaQueue(kafka, { name: 'k' });
    expect(q.kind).toBe('kafka');
    expect(q.name).toBe('k');
  });
});

const brokers = process.env.KAFKA_BROKERS?.split(',').filter(Boolean) ?? [];
if (brokers.length === 0) {
  console.log(
    'test/mq/kafka: KAFKA_BROKERS is not set, so the Kafka queue contract is not registered',
  );
} else {
  describeQueueContract([
    {
      name: 'kafka',
      claims: false,
      open: () => {
        const kafka = new Kafka({ clientId: 'girder-test', brokers, logLevel: logLevel.WARN });
        return {
          makeQueue: () => kafkaQueue(kafka, { redeliveryDelayMs: 100, blockMs: 100 }),
        };
      },
    },
  ]);
}
