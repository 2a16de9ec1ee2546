import * as z from 'zod';

type Option = z.ZodObject | z.ZodDiscriminatedUnion;

/** The objects a union option stands for: itself, or the options of a union nested in it. */
export function objectsOf(option: z.core.$ZodType): z.ZodObject[] {
  if (option instanceof z.ZodObject) return [option];
  if (option instanceof z.ZodDiscriminatedUnion) return (option.options as z.core.$ZodType[]).flatMap(objectsOf);
  return [];
}

/**
 * A union of strict objects told apart by `tag`, each listing only the settings of its own
 * variant, so a setting of another variant is refused. When the tag matches no variant, zod
 * alone reports just that; this also checks the settings every variant shares and refuses
 * keys none knows, so that every problem is reported at once.
 */
export function taggedUnion<const Options extends readonly [Option, ...Option[]]>(tag: string, options: Options) {
  const objects = options.flatMap(objectsOf);
  const keys = new Set(objects.flatMap((object) => Object.keys(object.shape)));
  // A setting is shared when every variant declares it with the same schema; any other is only known to exist.
  const anyVariant = z.strictObject(
    Object.fromEntries(
      [...keys].map((key) => {
        const schema = objects[0]!.shape[key];
        const shared = key !== tag && objects.every((object) => object.shape[key] === schema);
        return [key, shared ? schema! : z.unknown().optional()];
      }),
    ),
  );
  const noVariant = (issue: z.core.$ZodRawIssue) => issue.code === 'invalid_union' && issue.path?.length === 1 && issue.path[0] === tag;
  return z.discriminatedUnion(tag, options).superRefine(
    (value, ctx) => {
      const checked = anyVariant.safeParse(value);
      for (const issue of checked.error?.issues ?? []) ctx.addIssue({ ...issue });
    },
    { when: (payload) => payload.issues.some(noVariant) },
  );
}
