/** Extended operation OIDs the proxy itself knows about. */
export const Oid = {
  /** RFC 4511 §4.14.1 */
  startTls: '1.3.6.1.4.1.1466.20037',
  /** RFC 4511 §4.4.1 */
  noticeOfDisconnection: '1.3.6.1.4.1.1466.20036',
  /** RFC 4532 */
  whoAmI: '1.3.6.1.4.1.4203.1.11.3',
  /** RFC 3062 */
  passwordModify: '1.3.6.1.4.1.4203.1.11.1',
  /** RFC 4370 */
  proxiedAuthorization: '2.16.840.1.113730.3.4.18',
} as const;
