// The lab helpers live in lab/ (shared with bench/, which must not import test/).
export * from '../../lab/kernel';
