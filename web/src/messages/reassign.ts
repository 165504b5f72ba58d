// Labels of the reassign screens, in both languages; merged into i18n.ts.
export default {
  "zh-CN": {},
  en: {},
} as const;
