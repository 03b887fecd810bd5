// ghcr.io/vmware-tanzu/streaming-runtimes/udf-uppercase-java: uppercases the payload (see ../lib/uppercase.ts).
import { serveUppercase } from '../lib/uppercase';

void serveUppercase('java');
