export { type IssueOptions, TestCa, type TestCredential } from './pki.js';
