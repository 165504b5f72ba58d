// Labels of the reports screens, in both languages; merged into i18n.ts.
export default {
  "zh-CN": {},
  en: {},
} as const;
