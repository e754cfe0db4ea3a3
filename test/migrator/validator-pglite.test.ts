import { describeValidator } from './validator-suite.js';

describeValidator('pglite');
