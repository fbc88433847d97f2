export { captureInstalled, installCapture, removeCapture } from './capture.js';
export {
  CAPTURE_CHAINS,
  type CaptureConfig,
  captureTables,
  DEFAULT_CAPTURE,
  ipv6FailClosedTables,
  mergeTables,
  routingCommands,
  type TableName,
} from './capture-rules.js';
export { NetnsError, NetnsErrorCode } from './errors.js';
export { nativeSkipReason } from './libc.js';
export { currentNetnsId, Netns, runIn } from './namespace.js';
export {
  type ConnectInOptions,
  connectIn,
  fdOf,
  listenServerIn,
  listenServerOnFd,
  originalDstOf,
} from './node-sockets.js';
export { decodeSockaddr, encodeSockaddr, type Family, familyOf, type SocketAddress } from './sockaddr.js';
export {
  bindFd,
  closeFd,
  getMark,
  type ListenOptions,
  listenFd,
  listenIn,
  localAddressOf,
  originalDst,
  type SocketOptions,
  setFreebind,
  setMark,
  setReuseAddr,
  setReusePort,
  setTransparent,
  tcpSocket,
} from './sockets.js';
