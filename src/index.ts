export * from './engine';
export * from './constructs/service';
export * from './constructs/admin-access';
export * from './constructs/stateful-host';
