export * from './engine';
export * from './constructs/service';
export * from './constructs/admin-access';
export * from './constructs/stateful-host';
export * from './deploy/ssh-connection';
export * from './deploy/deployment-options';
export * from './deploy/host-deployment';
