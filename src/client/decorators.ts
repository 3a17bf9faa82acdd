/**
 * Method decorators that work under both decorator semantics TypeScript
 * offers, so one `@z.timeMe(...)` serves every Node app:
 *
 * - TC39 decorators (TypeScript 5+ default, tsx/esbuild): called as
 *   `(method, context)` with `context.kind === 'method'`; return the replacement.
 * - `experimentalDecorators` (NestJS, Angular, most existing services): called
 *   as `(prototype, propertyKey, descriptor)`; replace `descriptor.value`.
 *   Returning a function here (the TC39 way) is ignored by the legacy runtime,
 *   which is why these decorators used to record nothing under it.
 *
 * The wrapping itself is done once, at class definition, never per call.
 */

type AnyMethod = (...args: never[]) => unknown;

/**
 * A method decorator usable with and without `experimentalDecorators`. The
 * two call signatures are overloads: TypeScript picks the one its decorator
 * mode calls.
 */
export interface MethodDecorator {
  /** TC39 (standard) decorator call. */
  <This, Args extends unknown[], R>(method: (this: This, ...args: Args) => R, context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => R>): (this: This, ...args: Args) => R;
  /** `experimentalDecorators` call. */
  <T>(target: object, propertyKey: string | symbol, descriptor: TypedPropertyDescriptor<T>): TypedPropertyDescriptor<T> | void;
}

/** Builds a {@link MethodDecorator} from `wrap`, which returns the instrumented method. */
export function methodDecorator(wrap: (method: AnyMethod) => AnyMethod): MethodDecorator {
  return function decorate(first: unknown, second: unknown, third?: unknown): unknown {
    if (typeof second === 'object' && second !== null && (second as { kind?: unknown }).kind === 'method') {
      return wrap(first as AnyMethod);
    }
    const descriptor = third as PropertyDescriptor | undefined;
    if (descriptor && typeof descriptor.value === 'function') {
      descriptor.value = wrap(descriptor.value as AnyMethod);
      return descriptor;
    }
    // Not a method (a getter, a field): leave it as it is rather than break the class.
    return descriptor;
  } as MethodDecorator;
}
