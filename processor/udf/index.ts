export { UdfClient, UdfError, type UdfClientOptions, type UdfStatus, type UdfReachability } from './client';
export { messagingService, protoPath, SERVICE_NAME, type GrpcMessage } from './proto';
