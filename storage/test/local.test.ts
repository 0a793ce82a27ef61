import t from 'tap';
import { LocalStorage } from '../local.js';
import { tempDir } from '../../test/lib/proc.js';
import { driverSuite } from './driver-suite.js';

driverSuite(t, () => new LocalStorage(tempDir(t, 'registryd-local-')));
