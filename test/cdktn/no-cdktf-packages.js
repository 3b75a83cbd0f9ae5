// In the cdktn run, @cdktf/* packages are not installed (their classes extend cdktf's).
const err = new Error("Cannot find module '@cdktf/...' (the cdktn run has no @cdktf packages)");
err.code = 'MODULE_NOT_FOUND';
throw err;
