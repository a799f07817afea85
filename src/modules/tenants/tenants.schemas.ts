import { Type } from 'typebox';

export const InstanceResponse = Type.Object({
  tenant: Type.String(),
  instance: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});

export const InstanceListResponse = Type.Object({
  data: Type.Array(InstanceResponse),
});
